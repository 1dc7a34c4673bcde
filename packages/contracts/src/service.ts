import type { TSchema, Static } from '@sinclair/typebox';
import type { ErrorCode } from './errors.js';

/**
 * Who may call an operation over HTTP. `reader` reads (GET routes, search and other POSTs that
 * change nothing); `curator` reviews and edits ground truth (reviews, datasets, vocabularies,
 * imports); `operator` runs the machinery (jobs, dead letters, models, harvests, stage routes).
 * Curator and operator are separate trades: each includes reader, neither includes the other.
 * `admin` includes every role (and manages keys).
 */
export const ROLES = ['reader', 'curator', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route asks of its caller: a role, or nothing at all (`public`: documents anyone may read). */
export type Access = Role | 'public';

/** Who is calling: an API key, an OIDC token, this process itself, or nobody (no authentication configured). */
export interface Principal {
  readonly id: string;
  readonly name?: string;
  readonly roles: readonly Role[];
  readonly via: 'key' | 'oidc' | 'local' | 'anonymous';
}

const INCLUDES: Readonly<Record<Role, readonly Role[]>> = {
  reader: ['reader'],
  curator: ['curator', 'reader'],
  operator: ['operator', 'reader'],
  admin: ROLES,
};

/** Whether a principal holding `roles` may do what `needed` allows. */
export function allows(roles: readonly Role[], needed: Access): boolean {
  return needed === 'public' || roles.some((role) => INCLUDES[role]?.includes(needed));
}

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
  /**
   * Who called, once the HTTP edge authenticated them (forwarded over the bus by the gateway);
   * absent for work-queue deliveries and bus calls that did not come through HTTP.
   */
  readonly principal?: Principal;
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
  /**
   * The role its HTTP route needs (required even without a route, so no operation is ever
   * exposed by omission; start-up fails on a declaration without one).
   */
  readonly role: Access;
  /**
   * Read by IIIF viewers (enriched manifests, annotation pages, the JSON-LD context): answers any
   * origin (CORS), and is public when the deployment says so (LOUPE_IIIF_PUBLIC).
   */
  readonly iiif?: boolean;
  /**
   * A document format (ALTO's `application/xml`, hOCR's `text/vnd.hocr+html`...) that the output
   * is in: `output` is then a string schema, HTTP sends the string as it is with this
   * Content-Type (charset UTF-8) and OpenAPI documents it under this media type. Absent: JSON.
   * Over the bus the string travels as JSON, like any output. A binary type (`image/png`: anything
   * not text, XML or JSON) makes a handler's Uint8Array go out as bytes with that Content-Type
   * (`format: binary` in OpenAPI); over the bus the bytes travel as a base64 string, which a
   * remote route turns back into bytes. Its `output` is then a `{ type: 'string', format:
   * 'binary' }` schema, or `anyOf` that and a JSON alternative the handler may answer instead.
   */
  readonly mediaType?: string;
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
