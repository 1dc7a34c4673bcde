export { createCaptionService, type CaptionDeps } from './caption.service.js';
