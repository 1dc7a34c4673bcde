import type { Clock, JobView } from '@loupe/contracts';

/** Where the progress goes: standard error, or anything with its shape (a test's buffer). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** The terminal's width: the line is cut to it, since a wrapped line cannot be redrawn in place. */
  readonly columns?: number;
}

export interface ProgressOptions {
  readonly out?: ProgressOutput;
  /** Rate and ETA are measured on it: a test hands in a ManualClock. */
  readonly clock?: Pick<Clock, 'now'>;
  /** Without a terminal, a line at least this often while images finish (CI logs show the job moving). */
  readonly plainEveryMs?: number;
}

const BAR_WIDTH = 24;

/** 42s, 3m05s, 1h04m: an estimate needs no more. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Images per minute since `since`, and the time the rest would take at that pace; undefined before anything finished. */
export interface Pace {
  readonly perMinute: number;
  readonly etaMs: number;
}

/** The one line: bar, done/failed/total, rate and ETA, then each stage's count. */
export function formatProgress(job: JobView, pace: Pace | undefined, bar: boolean): string {
  const { total, done, failed } = job.tasks;
  const finished = done + failed;
  const filled = total > 0 ? Math.round((Math.min(finished, total) / total) * BAR_WIDTH) : 0;
  const parts = [`${finished}/${total} images${failed ? ` (${failed} failed)` : ''}`];
  if (pace) parts.push(`${pace.perMinute < 10 ? pace.perMinute.toFixed(1) : Math.round(pace.perMinute)} images/min`, finished < total ? `ETA ${formatDuration(pace.etaMs)}` : 'finished');
  const stages = Object.entries(job.stages)
    .map(([name, s]) => `${name} ${s.done}${s.failed ? `+${s.failed} failed` : ''}`)
    .join(' · ');
  const line = `${parts.join(' · ')}${stages ? `  | ${stages}` : ''}`;
  return bar ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${line}` : `progress: ${line}`;
}

/**
 * A job's progress for the person who started it: nothing while the harvest still counts the
 * images (a "0/0" says nothing), then a bar redrawn in place on a terminal, or plain lines (one per
 * tenth of the job, or per `plainEveryMs`, and the last) where the output is a file or a CI log.
 */
export class Progress {
  readonly #out: ProgressOutput;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #plainEveryMs: number;
  /** When the count was first known, and how many images were finished then (a resumed run starts above 0). */
  #start: { at: number; finished: number } | undefined;
  #lastLine = '';
  #lastPlain = { at: -Infinity, finished: -1 };

  constructor(opts: ProgressOptions = {}) {
    this.#out = opts.out ?? process.stderr;
    this.#clock = opts.clock ?? { now: () => performance.now() };
    this.#plainEveryMs = opts.plainEveryMs ?? 10_000;
  }

  update(job: JobView): void {
    const { total, done, failed } = job.tasks;
    if (job.state === 'queued' || job.state === 'harvesting' || total === 0) return;
    const finished = done + failed;
    const now = this.#clock.now();
    this.#start ??= { at: now, finished };
    const line = formatProgress(job, this.#pace(finished, total, now), this.#out.isTTY === true);
    if (this.#out.isTTY) {
      const fitted = this.#out.columns ? line.slice(0, this.#out.columns - 1) : line;
      // \x1b[K clears what a longer line before left to the right of this one.
      if (fitted !== this.#lastLine) this.#out.write(`\r${fitted}\x1b[K`);
      this.#lastLine = fitted;
      return;
    }
    if (finished === this.#lastPlain.finished) return;
    const step = Math.max(1, Math.ceil(total / 10));
    if (finished - this.#lastPlain.finished >= step || now - this.#lastPlain.at >= this.#plainEveryMs || finished >= total) {
      this.#out.write(`${line}\n`);
      this.#lastPlain = { at: now, finished };
    }
  }

  /** Leaves the terminal's cursor on a fresh line. */
  end(): void {
    if (this.#out.isTTY && this.#lastLine) this.#out.write('\n');
    this.#lastLine = '';
  }

  #pace(finished: number, total: number, now: number): Pace | undefined {
    const start = this.#start!;
    const count = finished - start.finished;
    const elapsed = now - start.at;
    if (count <= 0 || elapsed <= 0) return undefined;
    const perMs = count / elapsed;
    return { perMinute: perMs * 60_000, etaMs: Math.max(0, total - finished) / perMs };
  }
}
