export * from './machinery.js';
export * from './platform.js';
export * from './platform-sample-data.js';
export * from './sample-data.js';
export * from './service-settings.js';
export * from './simulator.js';
export * from './studio.js';
export * from './webhooks.js';
