import { createHash } from 'node:crypto';

/**
 * A seeded generator (sfc32) keyed by the sha256 of the seed's text, so a number seed and its
 * decimal text give the same stream, and any string is a usable seed. Math.random is never used
 * where results must repeat: a head trained twice from the same data and seed has the same
 * weights, and generated test data is the same on every run.
 */
export function seededRandom(seed: string | number): () => number {
  const h = createHash('sha256').update(String(seed)).digest();
  let a = h.readUInt32LE(0);
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // The first outputs of sfc32 still carry the key's structure; skip them as its author advises.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Fisher-Yates in place. */
export function shuffle(order: Int32Array | Uint32Array, random: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
}

/** Standard normal draws (Box-Muller) from a seeded generator. */
export function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
