import type { JobView } from '@loupe/contracts';

/** A progress bar on a terminal; plain lines, one per change of at least 10 % or 5 s, elsewhere. */
export class Progress {
  private lastLine = '';
  private lastPlain = { at: 0, done: -1 };

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(job: JobView): void {
    const { total, done, failed } = job.tasks;
    const finished = done + failed;
    const stages = Object.entries(job.stages)
      .map(([name, s]) => `${name} ${s.done}`)
      .join(' · ');
    const label = job.state === 'harvesting' ? 'harvesting…' : `${finished}/${total} images${failed ? ` (${failed} failed)` : ''}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = total > 0 ? Math.round((finished / total) * width) : 0;
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label}${stages ? `  ${stages}` : ''}`;
      if (line !== this.lastLine) {
        this.out.write(`\r${line.padEnd(this.lastLine.length)}`);
        this.lastLine = line;
      }
      return;
    }
    const now = Date.now();
    const step = Math.max(1, Math.ceil(total / 10));
    if (finished === this.lastPlain.done) return;
    if (finished - this.lastPlain.done >= step || now - this.lastPlain.at >= 5000 || finished === total) {
      this.out.write(`progress: ${label}${stages ? ` | ${stages}` : ''}\n`);
      this.lastPlain = { at: now, done: finished };
    }
  }

  end(): void {
    if (this.out.isTTY && this.lastLine) this.out.write('\n');
  }
}
