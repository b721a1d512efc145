export * from './attrs.js';
export * from './decision.js';
export * from './errors.js';
export * from './records.js';
export * from './cluster.js';
export * from './layers.js';
