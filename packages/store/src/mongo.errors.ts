import { LoupeError } from '@loupe/contracts';
import {
  MongoAPIError,
  MongoBulkWriteError,
  MongoCompatibilityError,
  MongoError,
  MongoInvalidArgumentError,
  MongoMissingCredentialsError,
  MongoMissingDependencyError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoParseError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb';

/*
 * Everything the MongoDB adapter needs to turn a connection string and a driver error into what
 * Loupe reports. Pure: no I/O, so it is tested without a server.
 */

/** The variable operators set; named in configuration errors so they know what to fix. */
export const MONGODB_URL_VARIABLE = 'LOUPE_MONGODB_URL';

const SCHEMES = ['mongodb://', 'mongodb+srv://'] as const;
/** Query options whose values are secrets (TLS key passwords, AWS session tokens...). */
const SECRET_OPTION = /pass|secret|token|key/i;

/**
 * The connection string with its password and secret-bearing options replaced by '***', safe for
 * messages and logs. Not a parser: it never throws, and a string it cannot split keeps only its
 * scheme, because a malformed URL may still hold a password.
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return '';
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0];
  if (scheme === undefined) return url.includes('@') ? '***' : url;
  const rest = url.slice(scheme.length);
  const queryAt = rest.indexOf('?');
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? undefined : rest.slice(queryAt + 1);
  // A password may hold an unencoded '/' or '@' in a sloppy URL: the last '@' ends the credentials.
  const at = beforeQuery.lastIndexOf('@');
  let authority = beforeQuery;
  if (at !== -1) {
    const userinfo = beforeQuery.slice(0, at);
    const colon = userinfo.indexOf(':');
    authority = `${colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`}@${beforeQuery.slice(at + 1)}`;
  }
  if (query === undefined) return scheme + authority;
  const options = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq !== -1 && SECRET_OPTION.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join('&');
  return `${scheme + authority}?${options}`;
}

/**
 * The database named in the connection string's path (`mongodb://host/loupe` -> 'loupe'), or
 * undefined. The driver would default to 'test', which is never what an operator meant.
 */
export function databaseFromUrl(url: string): string | undefined {
  const scheme = SCHEMES.find((s) => url.startsWith(s));
  if (scheme === undefined) return undefined;
  const rest = url.slice(scheme.length).split('?')[0]!;
  // '/' cannot appear unencoded in the credentials or hosts of a valid connection string.
  const slash = rest.indexOf('/');
  if (slash === -1) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(rest.slice(slash + 1));
  } catch {
    return undefined;
  }
  return name === '' ? undefined : name;
}

/** MongoDB's rules for database names (docs: "Restrictions on Database Names"), checked before connecting. */
export function checkDatabaseName(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (/[/\\. "$*<>:|?\0]/.test(name)) return 'contains one of / \\ . " $ * < > : | ? or a space';
  if (Buffer.byteLength(name) > 63) return 'is longer than 63 bytes';
  return undefined;
}

/** E11000: the unique index already holds the key. */
const DUPLICATE_KEY = 11000;
const AUTH_CODES = new Set([
  18, // AuthenticationFailed
  13, // Unauthorized: the user exists but lacks a role on this database
  11, // UserNotFound
]);
/** Server codes that mean "this may pass": elections, shutdowns, timeouts, lost sockets. */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = writeErrorsOf(err);
    // A bulk error without write errors is a write-concern failure: not a duplicate.
    return errors.length > 0 && errors.every((e) => e.code === DUPLICATE_KEY);
  }
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

/** A bulk write's per-operation failures (the driver gives one or a list). */
export function writeErrorsOf(err: MongoBulkWriteError): { index: number; code: number | undefined }[] {
  const list = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  return list.filter((e) => e !== undefined).map((e) => ({ index: e.index, code: e.code }));
}

/**
 * The driver error and what it wraps: a server-selection error carries the error of the server
 * it last tried (an authentication failure hides there), other errors their `cause`.
 */
function chainOf(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && !chain.includes(current) && chain.length < 8) {
    chain.push(current);
    const reason = current instanceof MongoServerSelectionError ? current.reason?.error : undefined;
    if (reason) chain.push(reason);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

const isAuthFailure = (e: unknown): boolean =>
  e instanceof MongoMissingCredentialsError ||
  (e instanceof MongoError && typeof e.code === 'number' && AUTH_CODES.has(e.code)) ||
  (e instanceof MongoServerError && e.codeName === 'AuthenticationFailed');

const isConfigProblem = (e: unknown): boolean =>
  e instanceof MongoParseError ||
  // mongodb-connection-string-url throws a MongoParseError class of its own.
  (e instanceof Error && e.name === 'MongoParseError') ||
  e instanceof MongoMissingDependencyError ||
  e instanceof MongoCompatibilityError;

function isTransient(e: unknown): boolean {
  if (
    e instanceof MongoNetworkError ||
    e instanceof MongoServerSelectionError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoTopologyClosedError ||
    e instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (!(e instanceof MongoError)) return false;
  if (e.hasErrorLabel('RetryableWriteError') || e.hasErrorLabel('TransientTransactionError')) return true;
  const code = e instanceof MongoWriteConcernError ? (e.result?.writeConcernError?.code ?? e.code) : e.code;
  return typeof code === 'number' && TRANSIENT_CODES.has(code);
}

/**
 * Maps what the driver throws to a LoupeError; driver types never leave the adapter. A LoupeError
 * passes through. Credentials and bad options are configuration (LOUPE_ERR_CONFIG_INVALID naming
 * LOUPE_MONGODB_URL); anything else is LOUPE_ERR_STORE, with `details.retryable` saying whether
 * trying again can help (a lost connection, an election) or not (a document too large).
 * `url` is only ever shown redacted.
 */
export function mongoStoreError(operation: string, err: unknown, url?: string): LoupeError {
  if (err instanceof LoupeError) return err;
  const chain = chainOf(err);
  const where = url === undefined ? undefined : redactUrl(url);
  const driverMessage = scrub(err instanceof Error ? err.message : String(err), url);
  const details = (extra: Record<string, unknown>): Record<string, unknown> => ({
    operation,
    ...(where === undefined ? {} : { url: where }),
    ...extra,
  });
  if (chain.some(isAuthFailure)) {
    return new LoupeError(
      'LOUPE_ERR_CONFIG_INVALID',
      `MongoDB refused the credentials in ${MONGODB_URL_VARIABLE}${where ? ` (${where})` : ''}: ${driverMessage}`,
      { cause: err, details: details({ variable: MONGODB_URL_VARIABLE }) },
    );
  }
  if (chain.some(isConfigProblem) || (operation === 'connect' && chain.some((e) => e instanceof MongoInvalidArgumentError))) {
    return mongoConfigError(err, url, operation);
  }
  if (chain.some(isTransient)) {
    const unreachable = chain.some((e) => e instanceof MongoServerSelectionError || e instanceof MongoNetworkError);
    const what = unreachable ? `cannot reach MongoDB${where ? ` at ${where}` : ''}` : 'MongoDB failed for now';
    return new LoupeError('LOUPE_ERR_STORE', `The store ${what} (${operation}): ${driverMessage}`, {
      cause: err,
      details: details({ retryable: true }),
    });
  }
  const code = err instanceof MongoError ? err.code : undefined;
  // An API error is a bug in this adapter, a server error one Loupe cannot fix by retrying.
  const kind = err instanceof MongoAPIError ? 'misused the driver' : 'failed';
  return new LoupeError('LOUPE_ERR_STORE', `The store ${kind} (${operation}): ${driverMessage}`, {
    cause: err,
    details: details({ retryable: false, ...(code === undefined ? {} : { mongoCode: code }) }),
  });
}

/**
 * LOUPE_ERR_CONFIG_INVALID for a connection string or client option the driver refused. Building
 * a client does no I/O, so whatever its constructor throws (a parse error, an invalid option
 * value, a port that is not a number) is one of these.
 */
export function mongoConfigError(err: unknown, url: string | undefined, operation = 'connect'): LoupeError {
  const where = url === undefined ? undefined : redactUrl(url);
  const driverMessage = scrub(err instanceof Error ? err.message : String(err), url);
  return new LoupeError(
    'LOUPE_ERR_CONFIG_INVALID',
    `${MONGODB_URL_VARIABLE} is not a usable MongoDB connection string${where ? ` (${where})` : ''}: ${driverMessage}`,
    { cause: err, details: { operation, ...(where === undefined ? {} : { url: where }), variable: MONGODB_URL_VARIABLE } },
  );
}

/** Removes the URL's password from a driver message, in case the driver echoed part of the string. */
function scrub(message: string, url: string | undefined): string {
  if (url === undefined) return message;
  const scheme = SCHEMES.find((s) => url.startsWith(s));
  const beforeHosts = scheme === undefined ? '' : url.slice(scheme.length).split('?')[0]!;
  const at = beforeHosts.lastIndexOf('@');
  const colon = at === -1 ? -1 : beforeHosts.indexOf(':');
  let out = message.split(url).join(redactUrl(url));
  if (colon !== -1 && colon < at) {
    const password = beforeHosts.slice(colon + 1, at);
    if (password.length > 0) {
      out = out.split(password).join('***');
      try {
        const decoded = decodeURIComponent(password);
        if (decoded.length > 0) out = out.split(decoded).join('***');
      } catch {
        // a malformed escape is not a password the driver could have decoded either
      }
    }
  }
  return out;
}
