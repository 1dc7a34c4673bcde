import type { LoupeConfig } from './config.js';

/** What pino writes its lines to. */
export interface LogSink {
  write(line: string): unknown;
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, shown in the line's head or not at all. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

const value = (v: unknown): string => (typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v));

/** A field as a person reads it: a request as its method and URL, a response as its status, an error as its code and message. */
function field(key: string, v: unknown): string {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (key === 'req' && typeof o.method === 'string') return `${o.method} ${String(o.url)}`;
    if (key === 'res' && typeof o.statusCode === 'number') return String(o.statusCode);
    if (key === 'err' && typeof o.message === 'string') return `${key}=${value(o.code ? `${String(o.code)}: ${o.message}` : o.message)}`;
  }
  return `${key}=${value(v)}`;
}

/**
 * One of pino's JSON lines as a line for a terminal: `12:03:04 WARN  detect failed  attempt=2`,
 * with an error's stack under it from ERROR up. A line that is not pino's JSON passes unchanged.
 */
export function prettyLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '';
  const fields = Object.entries(entry)
    .filter(([k, v]) => !HEAD.has(k) && v !== undefined)
    .map(([k, v]) => field(k, v));
  const head = `${time} ${(LEVELS[level] ?? String(level)).padEnd(5)} ${typeof entry.msg === 'string' ? entry.msg : ''}`;
  const stack = level >= 50 ? (entry.err as { stack?: unknown } | undefined)?.stack : undefined;
  return `${[head, ...fields].join('  ')}\n${typeof stack === 'string' ? `${stack.replace(/^/gm, '    ')}\n` : ''}`;
}

/** The format a process logs in: LOUPE_LOG_FORMAT, else pretty for a person at a terminal and JSON for a collector. */
export function logFormatOf(config: Pick<LoupeConfig, 'logFormat'>, out: { readonly isTTY?: boolean } = process.stderr): 'json' | 'pretty' {
  return config.logFormat ?? (out.isTTY ? 'pretty' : 'json');
}

/** Where a process's logger writes: standard error, as JSON or turned into lines for a person. */
export function logSink(config: Pick<LoupeConfig, 'logFormat'>, out: NodeJS.WritableStream & { readonly isTTY?: boolean } = process.stderr): LogSink {
  if (logFormatOf(config, out) === 'json') return { write: (line: string) => out.write(line) };
  return { write: (line: string) => out.write(prettyLogLine(line)) };
}
