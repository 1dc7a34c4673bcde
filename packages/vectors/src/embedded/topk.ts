/**
 * The k best (label, score) pairs seen so far, best first; ties go to the smaller label so that
 * exact search is deterministic (paging relies on two searches ordering equal scores alike).
 * Insertion into a sorted array: k is at most 10,000 and most candidates lose to the k-th.
 */
export class TopK {
  readonly labels: Int32Array;
  readonly scores: Float64Array;
  size = 0;

  constructor(readonly k: number) {
    this.labels = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** The score a candidate must beat to get in (−∞ until full). */
  get floor(): number {
    return this.size < this.k ? -Infinity : this.scores[this.k - 1]!;
  }

  push(label: number, score: number): void {
    const k = this.k;
    if (k === 0) return;
    if (this.size === k) {
      const last = this.scores[k - 1]!;
      if (score < last || (score === last && label > this.labels[k - 1]!)) return;
    }
    let j = this.size < k ? this.size++ : k - 1;
    while (j > 0) {
      const s = this.scores[j - 1]!;
      if (s > score || (s === score && this.labels[j - 1]! < label)) break;
      this.scores[j] = s;
      this.labels[j] = this.labels[j - 1]!;
      j--;
    }
    this.scores[j] = score;
    this.labels[j] = label;
  }
}
