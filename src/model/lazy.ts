/**
 * Heavy dependencies loaded on first use rather than at start-up, so a command pays only for what it uses
 * (protobufjs when an ALS message is decoded, the RE2 engine when a regex is compiled). Both are CommonJS
 * packages, so they load synchronously through `require` at the point of use.
 */
import { createRequire } from 'node:module';
import type protobufjs from 'protobufjs';
import type * as re2wasm from 're2-wasm';

const require = createRequire(import.meta.url);

let protobufModule: typeof protobufjs | undefined;
let re2Module: typeof re2wasm | undefined;

export function protobuf(): typeof protobufjs {
  return (protobufModule ??= require('protobufjs') as typeof protobufjs);
}

/** The RE2 class of re2-wasm. */
export function re2(): typeof re2wasm.RE2 {
  return (re2Module ??= require('re2-wasm') as typeof re2wasm).RE2;
}
