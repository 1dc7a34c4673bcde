/**
 * OCR error rates: edit distance between reference and hypothesis over the
 * reference length. Whitespace runs count as one space and the ends are trimmed,
 * so layout differences (line breaks, double spaces) are not errors.
 */
export function characterErrorRate(reference: string, hypothesis: string): number {
  // Array.from splits by code point, so an astral character is one edit, not two.
  return errorRate(Array.from(normalizeSpace(reference)), Array.from(normalizeSpace(hypothesis)));
}

export function wordErrorRate(reference: string, hypothesis: string): number {
  const words = (s: string) => {
    const n = normalizeSpace(s);
    return n === '' ? [] : n.split(' ');
  };
  return errorRate(words(reference), words(hypothesis));
}

export function normalizeSpace(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

/** An empty reference has rate 0 against an empty hypothesis and 1 against anything else. */
function errorRate(ref: readonly string[], hyp: readonly string[]): number {
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  return levenshtein(ref, hyp) / ref.length;
}

export function levenshtein(a: readonly string[], b: readonly string[]): number {
  // Two rows suffice: each cell needs only the one above, to the left and diagonally above-left.
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let curr = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    curr[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      curr[j] = Math.min(substitution, prev[j]! + 1, curr[j - 1]! + 1);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[b.length]!;
}
