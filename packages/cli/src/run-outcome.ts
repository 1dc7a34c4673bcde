// What a finished `loupe run` tells its caller: an exit code a script can branch on, and the
// failures grouped by cause, each with the one thing to do about it. Pure: the run writes them.
import { ERRORS, isErrorCode } from '@loupe/contracts/core';

/** `loupe run`'s exit codes; 1 (an unexpected error) and 2 (a command line that means nothing) are every command's. */
export const RUN_EXIT = { done: 0, someFailed: 3, nothingRan: 4 } as const;

/** The exit codes as `loupe run --help` and README say them. */
export const RUN_EXIT_CODES_TEXT = [
  'Exit codes:',
  '  0  every canvas done',
  '  3  the run finished but some canvases failed (report.json says which and why; --allow-failures exits 0 instead)',
  '  4  nothing could run: a check before the harvest failed, the harvest failed, or every canvas failed',
  '  2  the command line is wrong;  1  an unexpected error',
].join('\n');

export interface RunFailure {
  readonly canvas: string | null;
  readonly stage: string;
  readonly code: string;
  readonly message: string;
}

/** What the exit code is decided on: the job's end state and its counts. */
export interface RunOutcome {
  readonly state: string;
  readonly tasks: { readonly total: number; readonly done: number; readonly failed: number };
  readonly failures: readonly RunFailure[];
}

/** One cause of failure: every failure with this code. */
export interface FailureCause {
  readonly code: string;
  readonly count: number;
  /** Temporary: the same command later may succeed. Permanent: something must change first. */
  readonly retryable: boolean;
  /** What went wrong, naming the hosts the failed requests went to. */
  readonly cause: string;
  readonly fix: string;
  /** The first few canvases with this failure (null: the manifest or collection itself). */
  readonly examples: readonly (string | null)[];
}

const CHECK_URLS = "check the manifest's image URLs";
const LATER = 'run the same command again later';

/** Per code (or code family), what happened in a few words and what to do; `{hosts}` is filled from the messages. */
const CAUSES: readonly (readonly [match: string, cause: string, fix: string])[] = [
  ['LOUPE_ERR_FETCH_DNS', 'no such host {hosts}', CHECK_URLS],
  ['LOUPE_ERR_FETCH_NOT_FOUND', 'not found (404 or 410) on {hosts}', `the server has no such resource: ${CHECK_URLS}`],
  ['LOUPE_ERR_FETCH_AUTH_REQUIRED', 'a login is asked for (401 or 403) by {hosts}', 'Loupe does not support IIIF Auth: ask the holder for open access'],
  ['LOUPE_ERR_FETCH_TLS', 'an invalid TLS certificate on {hosts}', "the server's certificate is expired, self-signed or for another host: tell its holder"],
  ['LOUPE_ERR_FETCH_NETWORK', 'could not reach {hosts}', LATER],
  ['LOUPE_ERR_FETCH_TIMEOUT', 'no answer in time from {hosts}', `${LATER}, or raise LOUPE_FETCH_TIMEOUT_MS`],
  ['LOUPE_ERR_FETCH_HTTP_RETRYABLE', '{hosts} overloaded or failing (408, 429 or 5xx)', LATER],
  ['LOUPE_ERR_FETCH_EGRESS_REFUSED', 'an address Loupe may not fetch ({hosts})', 'let it through with LOUPE_FETCH_ALLOW (docs/security.md)'],
  ['LOUPE_ERR_FETCH_TOO_LARGE', 'larger than the byte limit, from {hosts}', 'raise LOUPE_FETCH_MAX_BYTES'],
  ['LOUPE_ERR_FETCH_CONTENT_TYPE', 'not an image (wrong content type) from {hosts}', CHECK_URLS],
  ['LOUPE_ERR_FETCH_', 'an error answer from {hosts}', 'see each message in report.json'],
  ['LOUPE_ERR_IIIF_', 'not IIIF', 'the document is not a IIIF manifest or collection Loupe can read: check its URL'],
  ['LOUPE_ERR_IMAGE_', 'not a usable image', 'the image is corrupt, too large or not an image: check it on the image server'],
  ['LOUPE_ERR_MODEL_', 'a model is missing or unusable', 'loupe models list shows what is installed; loupe models pull <id> installs one'],
];

const HOST = /\bhttps?:\/\/([^/\s:]+)/gi;

/** The hosts the messages name, in order of first appearance. */
function hostsIn(failures: readonly RunFailure[]): string[] {
  const hosts = new Set<string>();
  for (const f of failures) for (const m of f.message.matchAll(HOST)) hosts.add(m[1]!.toLowerCase());
  return [...hosts];
}

function describe(code: string, failures: readonly RunFailure[]): { cause: string; fix: string } {
  const known = CAUSES.find(([match]) => code === match || (match.endsWith('_') && code.startsWith(match)));
  if (!known) return { cause: isErrorCode(code) ? ERRORS[code].title : code, fix: "see each canvas's message in report.json" };
  const hosts = hostsIn(failures);
  const named = hosts.length === 0 ? 'the server' : hosts.length <= 3 ? hosts.join(', ') : `${hosts.slice(0, 3).join(', ')} and ${hosts.length - 3} more`;
  return { cause: known[1].replace('{hosts}', named), fix: known[2] };
}

/** The failures by code, the most frequent first. */
export function groupFailures(failures: readonly RunFailure[], examples = 3): FailureCause[] {
  const byCode = new Map<string, RunFailure[]>();
  for (const f of failures) byCode.set(f.code, [...(byCode.get(f.code) ?? []), f]);
  return [...byCode]
    .map(([code, group]) => ({
      code,
      count: group.length,
      retryable: isErrorCode(code) ? ERRORS[code].retryable : false,
      ...describe(code, group),
      examples: [...new Set(group.map((f) => f.canvas))].slice(0, examples),
    }))
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
}

/** The lines that end a run with failures: one per cause, then its example canvases. */
export function formatCauses(causes: readonly FailureCause[]): string[] {
  return causes.flatMap((c) => {
    const what = c.examples.every((e) => e === null) ? (c.count === 1 ? 'the manifest' : `${c.count} documents`) : `${c.count} ${c.count === 1 ? 'canvas' : 'canvases'}`;
    return [
      `${what}: ${c.cause} (${c.code}, ${c.retryable ? 'temporary' : 'permanent'}): ${c.fix}`,
      ...c.examples.filter((e): e is string => e !== null).map((e) => `    ${e}`),
    ];
  });
}

/**
 * 0 when every canvas was done; 4 when nothing was (the harvest failed, or every canvas failed);
 * 3 when some failed, or 0 with `allowFailures`. A collection with no canvas at all is done.
 */
export function runExitCode(outcome: RunOutcome, allowFailures = false): number {
  if (outcome.state === 'failed') return RUN_EXIT.nothingRan;
  if (outcome.failures.length === 0) return RUN_EXIT.done;
  if (outcome.tasks.done === 0) return RUN_EXIT.nothingRan;
  return allowFailures ? RUN_EXIT.done : RUN_EXIT.someFailed;
}
