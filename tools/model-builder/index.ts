export * from './build.js';
export * from './config.js';
export { buildDecoderGraph, type DecoderGraph } from './decoder-graph.js';
export * from './model-directory.js';
export * from './weights.js';
export type { WrittenModel } from './writer.js';
export * from './int8-weights.js';
