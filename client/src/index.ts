export * from './args.js';
export * from './client.js';
export * from './frames.js';
export * from './sweep.js';
export * from './trust.js';
