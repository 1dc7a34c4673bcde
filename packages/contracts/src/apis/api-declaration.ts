import type { HandlerDeclaration } from '../service.js';

/**
 * A handler's declaration without its implementation: what a caller in another process needs, and
 * what the owning service implements with `defineHandler({ ...decl, handler })`.
 */
export type ApiDeclaration = Omit<HandlerDeclaration, 'handler'>;
