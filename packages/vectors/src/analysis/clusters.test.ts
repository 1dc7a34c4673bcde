import { LoupeError } from '@loupe/contracts';
import t from 'tap';
import { adjustedRandIndex, clusterImages, clustersCsv, kMeans, silhouetteScore, type ClusterPoint } from './clusters.js';
import { seededRandom } from '@loupe/datasets';
import { sampleIndices } from './random.js';

/** Gaussian-ish noise from the seeded generator (sum of uniforms). */
function noise(random: () => number): number {
  return random() + random() + random() - 1.5;
}

/** `count` blobs of `size` points in `dims` dimensions around random unit centres, spread `spread`. */
function blobs(seed: number, count: number, size: number, dims: number, spread: number): { points: ClusterPoint[]; truth: number[] } {
  const random = seededRandom(seed);
  const centres = Array.from({ length: count }, () => Array.from({ length: dims }, () => noise(random)));
  const points: ClusterPoint[] = [];
  const truth: number[] = [];
  // Interleaved, so input order says nothing about the blobs.
  for (let i = 0; i < size; i++) {
    for (let b = 0; b < count; b++) {
      const v = Float32Array.from(centres[b]!, (c) => c + spread * noise(random));
      points.push({ id: `img-${b}-${i}`, vector: v, payload: { canvasId: `https://example.org/c/${b}/${i}`, imageIndex: 0, manifestId: `https://example.org/m/${b}` } });
      truth.push(b);
    }
  }
  return { points, truth };
}

const unit = (deg: number) => Float32Array.from([Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]);

t.test('silhouette on a hand-computed example (cosine distance)', async (t) => {
  // A = (1,0), B = (0.8,0.6) | C = (0,1), D = (-0.6,0.8). Distances 1 - cos: AB 0.2, AC 1, AD 1.6,
  // BC 0.4, BD 1, CD 0.2. s(A) = (1.3 - 0.2) / 1.3, s(B) = (0.7 - 0.2) / 0.7, C like B, D like A:
  // mean (11/13 + 5/7) / 2 = 71/91.
  const vectors = [Float32Array.from([1, 0]), Float32Array.from([0.8, 0.6]), Float32Array.from([0, 1]), Float32Array.from([-0.6, 0.8])];
  t.equal(Math.round(silhouetteScore(vectors, [0, 0, 1, 1])! * 1e6), Math.round((71 / 91) * 1e6));
  // The worse split {A, C} | {B, D}: a(A) = d(A,C) = 1, b(A) = mean(d(A,B), d(A,D)) = 0.9 -> -0.1;
  // a(B) = d(B,D) = 1, b(B) = mean(0.2, 0.4) = 0.3 -> -0.7; C like B, D like A. Mean -0.4.
  t.equal(Math.round(silhouetteScore(vectors, [0, 1, 0, 1])! * 1e6), -400000);
  // A singleton scores 0: {A} | {B, C, D}: s(A) = 0; a(B) = mean(0.4, 1) = 0.7, b(B) = 0.2 -> (0.2 - 0.7) / 0.7;
  // a(C) = mean(0.4, 0.2) = 0.3, b(C) = 1 -> 0.7; a(D) = mean(1, 0.2) = 0.6, b(D) = 1.6 -> 1 / 1.6.
  const expected = (0 + -0.5 / 0.7 + 0.7 + 1 / 1.6) / 4;
  t.equal(Math.round(silhouetteScore(vectors, [0, 1, 1, 1])! * 1e6), Math.round(expected * 1e6));
  t.equal(silhouetteScore(vectors, [3, 3, 3, 3]), null, 'one cluster: undefined');
  // Scale does not matter: cosine distance.
  const scaled = vectors.map((v) => Float32Array.from(v, (x) => x * 7));
  t.equal(Math.round(silhouetteScore(scaled, [0, 0, 1, 1])! * 1e6), Math.round((71 / 91) * 1e6));
});

t.test('adjusted Rand index on hand-computed examples', async (t) => {
  t.equal(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 1, 'same partition, other names');
  // Contingency [[2,1,0],[0,1,2]]: index 2, row pairs 3 + 3 = 6, column pairs 1 + 1 + 1 = 3, expected 6 x 3 / 15 = 1.2,
  // max (6 + 3) / 2 = 4.5: ARI = (2 - 1.2) / (4.5 - 1.2) = 8/33.
  t.equal(Math.round(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) * 1e9), Math.round((8 / 33) * 1e9));
});

t.test('k-means on four unit vectors: the two pairs, centroids the normalised means, inertia by hand', async (t) => {
  const vectors = [unit(0), unit(36.8699), unit(90), unit(126.8699)]; // (1,0), (0.8,0.6), (0,1), (-0.6,0.8)
  const result = kMeans(vectors, 2, { seed: 3 });
  t.equal(result.labels[0], result.labels[1]);
  t.equal(result.labels[2], result.labels[3]);
  t.not(result.labels[0], result.labels[2]);
  // Centroid of A and B: (1.8, 0.6) / |(1.8, 0.6)| = (0.948683, 0.316228); each member at cosine 1.8 / sqrt(3.6).
  const c = result.labels[0]!;
  t.equal(Math.round(result.centroids[c * 2]! * 1e5), 94868);
  t.equal(Math.round(result.centroids[c * 2 + 1]! * 1e5), 31623);
  t.equal(Math.round(result.inertia * 1e6), Math.round((4 - (4 * 1.8) / Math.sqrt(3.6)) * 1e6));
  t.equal(result.converged, true);
});

t.test('a k-means result is a Lloyd fixed point: every point at its nearest centroid, every centroid its members\' normalised mean', async (t) => {
  // Unstructured data, where the accelerated bounds have the most to decide.
  const random = seededRandom(11);
  const vectors = Array.from({ length: 600 }, () => Float32Array.from({ length: 12 }, () => noise(random)));
  for (const k of [3, 7, 15]) {
    const r = kMeans(vectors, k, { seed: 5, restarts: 1 });
    t.equal(r.converged, true, `k=${k} converged in ${r.iterations} iterations`);
    let misplaced = 0;
    let worstMean = 0;
    const sums = Array.from({ length: k }, () => new Float64Array(12));
    vectors.forEach((v, i) => {
      const norm = Math.hypot(...v);
      let best = -1;
      let bestCos = -Infinity;
      for (let c = 0; c < k; c++) {
        let dot = 0;
        for (let d = 0; d < 12; d++) dot += (v[d]! / norm) * r.centroids[c * 12 + d]!;
        if (dot > bestCos + 1e-9) {
          bestCos = dot;
          best = c;
        }
      }
      if (best !== r.labels[i] && bestCos - r.similarity[i]! > 1e-6) misplaced++;
      for (let d = 0; d < 12; d++) sums[r.labels[i]!]![d]! += v[d]! / norm;
    });
    for (let c = 0; c < k; c++) {
      const norm = Math.hypot(...sums[c]!);
      for (let d = 0; d < 12; d++) worstMean = Math.max(worstMean, Math.abs(sums[c]![d]! / norm - r.centroids[c * 12 + d]!));
    }
    t.equal(misplaced, 0, `k=${k}: no point nearer another centroid`);
    t.ok(worstMean < 1e-5, `k=${k}: centroids are the means (max deviation ${worstMean})`);
    t.equal(new Set(r.labels).size, k, `k=${k}: no empty cluster`);
  }
});

t.test('four well-separated blobs: silhouette picks k = 4 and k-means recovers them exactly', async (t) => {
  const { points, truth } = blobs(42, 4, 40, 16, 0.15);
  const report = clusterImages(points, { kMin: 2, kMax: 8, seed: 7 });
  t.equal(report.k, 4);
  t.equal(report.method, 'spherical-k-means');
  const best = report.selection!.scores.reduce((x, y) => (y.silhouette > x.silhouette ? y : x));
  t.equal(best.k, 4, `silhouettes ${report.selection!.scores.map((s) => `${s.k}:${s.silhouette.toFixed(3)}`).join(' ')}`);
  t.same(report.selection!.scores.map((s) => s.k), [2, 3, 4, 5, 6, 7, 8]);
  t.same(
    { fittedOn: report.selection!.fittedOn, silhouetteOn: report.selection!.silhouetteOn, sampled: report.selection!.sampled },
    { fittedOn: 160, silhouetteOn: 160, sampled: false },
  );
  t.ok(report.silhouette! > 0.6, `silhouette ${report.silhouette}`);
  t.equal(report.silhouette, best.silhouette);
  t.equal(adjustedRandIndex(report.assignments.map((a) => a.cluster), truth), 1);
  t.same(report.clusters.map((c) => c.size), [40, 40, 40, 40]);
  // Ties in size: numbered by first member in input order, which is blob 0, 1, 2, 3 (interleaved input).
  t.same(report.clusters.map((c) => c.cluster), [0, 1, 2, 3]);
  t.same(report.assignments.slice(0, 4).map((a) => a.cluster), [0, 1, 2, 3]);
  for (const c of report.clusters) {
    const members = report.assignments.filter((a) => a.cluster === c.cluster);
    const ranked = [...members].sort((x, y) => x.rank - y.rank);
    t.same(ranked.map((a) => a.rank), Array.from({ length: 40 }, (_, i) => i + 1));
    t.ok(ranked.every((a, i) => i === 0 || a.distance >= ranked[i - 1]!.distance), 'ranked by distance');
    t.same(c.central, ranked.slice(0, 5).map((a) => ({ id: a.id, distance: a.distance })), 'the five most central');
    t.same(ranked.filter((a) => a.central).map((a) => a.rank), [1, 2, 3, 4, 5]);
    t.ok(c.cohesion > 0.9, `cohesion ${c.cohesion}`);
  }
  // Distances are 1 - cosine to the centroid (the normalised member mean).
  const first = report.assignments[0]!;
  const members = points.filter((_, i) => report.assignments[i]!.cluster === first.cluster).map((p) => p.vector);
  const mean = new Float64Array(16);
  for (const v of members) {
    const n = Math.hypot(...v);
    v.forEach((x, d) => (mean[d]! += x / n));
  }
  const mn = Math.hypot(...mean);
  const v0 = points[0]!.vector;
  const cos = v0.reduce((s, x, d) => s + x * mean[d]!, 0) / (Math.hypot(...v0) * mn);
  t.equal(first.distance, Math.round((1 - cos) * 1e6) / 1e6);
});

t.test('reproducible from the seed', async (t) => {
  const { points, truth } = blobs(9, 5, 30, 8, 0.3);
  const a = clusterImages(points, { kMin: 2, kMax: 9, seed: 123 });
  const b = clusterImages(points, { kMin: 2, kMax: 9, seed: 123 });
  t.same(a, b, 'same seed, same report');
  t.equal(a.k, 5);
  t.equal(adjustedRandIndex(a.assignments.map((x) => x.cluster), truth), 1);
  // One k's result does not depend on the range searched.
  const fixed = clusterImages(points, { k: 5, seed: 123 });
  t.same(fixed.assignments, a.assignments);
  t.equal(fixed.selection, null);
  t.equal(fixed.silhouette, a.silhouette);
  // The generator itself: same seed, same stream; another seed, another stream.
  const r1 = seededRandom(5);
  const r2 = seededRandom(5);
  const r3 = seededRandom(6);
  const s1 = Array.from({ length: 5 }, r1);
  t.same(Array.from({ length: 5 }, r2), s1);
  t.not(Array.from({ length: 5 }, r3).join(), s1.join());
  t.ok(s1.every((x) => x >= 0 && x < 1));
  t.same(Array.from(sampleIndices(seededRandom(1), 10, 10)).sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'a full sample is a permutation');
});

t.test('large sets: k chosen on a seeded sample, silhouette on a smaller one, the chosen k fitted on all', async (t) => {
  const { points, truth } = blobs(21, 3, 1000, 8, 0.2);
  const report = clusterImages(points, { kMin: 2, kMax: 6, seed: 4, fitSample: 600, silhouetteSample: 300 });
  t.same(
    { fittedOn: report.selection!.fittedOn, silhouetteOn: report.selection!.silhouetteOn, sampled: report.selection!.sampled },
    { fittedOn: 600, silhouetteOn: 300, sampled: true },
  );
  t.equal(report.k, 3);
  t.equal(report.assignments.length, 3000);
  t.equal(adjustedRandIndex(report.assignments.map((a) => a.cluster), truth), 1);
});

t.test('small and degenerate inputs', async (t) => {
  t.same(clusterImages([]).clusters, []);
  const one = clusterImages([{ id: 'x', vector: Float32Array.from([1, 2]) }]);
  t.same([one.k, one.silhouette, one.assignments[0]], [1, null, { id: 'x', cluster: 0, canvasId: null, manifestId: null, distance: 0, rank: 1, central: true }]);
  const two = clusterImages([
    { id: 'x', vector: Float32Array.from([1, 0]) },
    { id: 'y', vector: Float32Array.from([0, 1]) },
  ]);
  t.equal(two.k, 1, 'two images: nothing to compare k by');
  // Identical vectors: fewer distinct points than k still gives k non-empty clusters where it can.
  const same = Array.from({ length: 6 }, (_, i) => ({ id: `s${i}`, vector: Float32Array.from([1, 1]) }));
  const r = clusterImages(same, { k: 3 });
  t.equal(r.assignments.length, 6);
  t.ok(r.assignments.every((a) => a.distance === 0));
  const throwsValidation = (fn: () => unknown, pattern: RegExp) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof LoupeError && err.code === 'LOUPE_ERR_VALIDATION' && pattern.test(err.message), String(err));
  };
  throwsValidation(() => clusterImages([{ id: 'a', vector: Float32Array.from([1, 0]) }, { id: 'b', vector: Float32Array.from([1]) }]), /dimensions/);
  throwsValidation(() => clusterImages([{ id: 'a', vector: Float32Array.from([0, 0]) }]), /zero/);
  throwsValidation(() => clusterImages([{ id: 'a', vector: Float32Array.from([1]) }, { id: 'a', vector: Float32Array.from([1]) }]), /twice/);
  throwsValidation(() => clusterImages(same, { k: 7 }), /k must be/);
});

t.test('CSV: one row per image', async (t) => {
  const points: ClusterPoint[] = [
    { id: 'a', vector: unit(0), payload: { canvasId: 'https://example.org/c,1', imageIndex: 0, manifestId: 'm "1"' } },
    { id: 'b', vector: unit(90), payload: { canvasId: 'c2', imageIndex: 0, manifestId: 'm2' } },
    { id: 'c', vector: unit(2), payload: { canvasId: 'c3', imageIndex: 0, manifestId: 'm3' } },
  ];
  const report = clusterImages(points, { k: 2, central: 1 });
  // Cluster 0 = {a, c} (the larger), centroid at 1 degree: both at 1 - cos(1 deg) = 0.000152; a first (input order on a tie).
  t.equal(
    clustersCsv(report),
    [
      'cluster,id,canvas,manifest,distance,rank,central',
      '0,a,"https://example.org/c,1","m ""1""",0.000152,1,true',
      '1,b,c2,m2,0,1,true',
      '0,c,c3,m3,0.000152,2,false',
      '',
    ].join('\r\n'),
  );
});
