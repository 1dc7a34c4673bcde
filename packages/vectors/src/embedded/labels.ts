/**
 * The labels of the stored points: the small integers the graph and the vector slab know points
 * by. Labels freed by deletes are handed out again first, so the graph and the slab stay dense
 * (hnswlib re-adding a deleted label un-deletes its slot).
 */
export class LabelSpace {
  /** alive[label] === 1: a stored point has this label. Replaced when it grows: read it afresh. */
  alive = new Uint8Array(1024);
  /** One past the highest label ever handed out. */
  end = 0;
  /** Live points. */
  live = 0;
  /** Labels below `end` with no point, the next to hand out last. */
  private readonly free: number[] = [];

  markAlive(label: number): void {
    if (label >= this.alive.length) {
      const grown = new Uint8Array(Math.max(label + 1, this.alive.length * 2));
      grown.set(this.alive);
      this.alive = grown;
    }
    this.alive[label] = 1;
    this.live++;
    if (label >= this.end) this.end = label + 1;
  }

  release(label: number): void {
    this.alive[label] = 0;
    this.live--;
    this.free.push(label);
  }

  /** Once every stored point is marked alive: the gaps between them become free, lowest handed out first. */
  collectFree(): void {
    for (let label = this.end - 1; label >= 0; label--) if (this.alive[label] !== 1) this.free.push(label);
  }

  *aliveLabels(): Generator<number> {
    for (let label = 0; label < this.end; label++) if (this.alive[label] === 1) yield label;
  }

  /**
   * Labels for one write transaction: nothing changes until commit(), so a transaction that
   * rolls back leaves the free list as it was. The labels become alive through markAlive.
   */
  allocation(): { take(): number; commit(): void } {
    let taken = 0;
    let next = this.end;
    return {
      take: () => (taken < this.free.length ? this.free[this.free.length - 1 - taken++]! : next++),
      commit: () => {
        this.free.length -= taken;
      },
    };
  }
}
