import { withTraceContext } from '@loupe/contracts';
import type { RequestOptions } from './bus.js';

export { withTraceContext };

/** A request's options with the active span's trace context in its headers (tracing off: unchanged). */
export function tracedRequest(options: RequestOptions): RequestOptions {
  const headers = withTraceContext(options.headers);
  return headers ? { ...options, headers } : options;
}
