# meshsleuth in a container, mainly for running `meshsleuth collect` (the Envoy Access Log Service server)
# inside a cluster. Build from the repository root:
#   docker build -t meshsleuth:0.1.0 .
# Wiring Istio to it: docs/readme-wiring.md.

# --- build: compile and pack exactly what `npm i -g` installs --------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# `npm run build` compiles and writes the CLI option spec; `npm pack` then packs dist/, protos/ and samples/
RUN npm run build && npm pack --ignore-scripts --pack-destination /pkg

# --- run: the packed CLI installed globally, as an unprivileged user -------------------------------
FROM node:20-bookworm-slim
RUN --mount=type=bind,from=build,source=/pkg,target=/pkg \
    npm install --global --no-audit --no-fund /pkg/meshsleuth-*.tgz \
    && npm cache clean --force \
    && mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
# gRPC (ALS). Listening on all interfaces is what a Service needs; use --tls-cert/--tls-key(/--tls-ca)
# or keep the Service cluster-internal behind a NetworkPolicy: access logs carry request details.
EXPOSE 9001
ENTRYPOINT ["meshsleuth"]
CMD ["collect", "--listen", "0.0.0.0:9001", "--out", "/data/als.ndjson"]
