export * from './errors.js';
export * from './task.js';
export * from './annotation.js';
export * from './service.js';
export * from './subjects.js';
export * from './pipeline.js';
export * from './harvest.js';
export * from './jobs.js';
