/** HTTP/2 wire helpers for tests: one frame (RFC 9113 §4.1 header + payload), shared with the hostile generators. */
export { h2Frame } from '../../src/synth/hostile.js';
