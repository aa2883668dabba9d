export * from './args.js';
export * from './client.js';
export * from './frames.js';
export * from './mqtt-replay.js';
export * from './recording.js';
export * from './replay.js';
export * from './sweep.js';
export * from './trust.js';
