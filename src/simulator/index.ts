export * from './sample-data.js';
export * from './simulator.js';
export * from './webhooks.js';
