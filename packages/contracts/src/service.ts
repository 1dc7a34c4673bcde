import type { TSchema, Static } from '@sinclair/typebox';
import type { ErrorCode } from './errors.js';

/** What a handler may use besides its input: nothing that ties it to a transport. */
export interface HandlerContext {
  /** Aborted when the caller goes away or the service shuts down. */
  readonly signal: AbortSignal;
  /** Structured log bound to the request or message. */
  readonly log: Logger;
  /** Message headers / HTTP headers relevant to tracing (traceparent, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** Tells a work queue the handler is still alive (extends the ack deadline); a no-op over HTTP. */
  working(): void;
  /** How many times this input has been delivered (1 over HTTP). */
  readonly attempt: number;
}

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type HandlerFn<I extends TSchema, O extends TSchema> = (input: Static<I>, ctx: HandlerContext) => Promise<Static<O>>;

/**
 * A handler and its declaration, side by side. The runtime binds it as an HTTP
 * route (validated by `input`, documented in OpenAPI) and on the bus: as a
 * request/reply endpoint (`mode: 'request'`) or a work-queue consumer (`mode: 'queue'`).
 */
export interface HandlerDeclaration<I extends TSchema = TSchema, O extends TSchema = TSchema> {
  readonly name: string;
  readonly summary: string;
  /** NATS subject: loupe.<service>.<op>.v1 */
  readonly subject: string;
  readonly mode: 'request' | 'queue';
  readonly route?: { readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'; readonly url: string };
  readonly input: I;
  readonly output: O;
  readonly errors: readonly ErrorCode[];
  readonly handler: HandlerFn<I, O>;
}

/**
 * A static document a service serves as it is (a page and its script or style): not an operation,
 * so it has no schema, stays out of OpenAPI and is answered without waiting for start().
 */
export interface StaticPage {
  /** Absolute path, e.g. `/review`. */
  readonly url: string;
  /** Full Content-Type, e.g. `text/html; charset=utf-8`. */
  readonly contentType: string;
  readonly body: string;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler has its own schemas
  readonly handlers: readonly HandlerDeclaration<any, any>[];
  /** Static documents served by GET (the gateway's review page). */
  readonly pages?: readonly StaticPage[];
  /** Loads models and opens stores; /readyz answers 200 only once it has resolved. */
  readonly start?: () => Promise<void>;
  /** Releases what start() took; called after in-flight work has finished. */
  readonly stop?: () => Promise<void>;
  /** Details shown by /readyz (models loaded, execution provider...). */
  readonly readiness?: () => Record<string, unknown>;
}

export function defineHandler<I extends TSchema, O extends TSchema>(decl: HandlerDeclaration<I, O>): HandlerDeclaration<I, O> {
  return decl;
}
