export * from './budget.js';
export * from './client.js';
export * from './types.js';
