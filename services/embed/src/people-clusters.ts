/**
 * Faces grouped into people by average linkage: two groups join while the mean cosine between
 * their faces is at least the threshold. Average rather than single linkage (connected components)
 * because one blurred or profile face close to two sitters would chain them into one person; average
 * rather than complete linkage because a person photographed at 20 and at 60 is still one person
 * when most of their faces agree.
 *
 * Curators' decisions are constraints, not afterthoughts: faces pinned to one person start as one
 * group, and two groups pinned to different people never join, so a name or a split survives
 * grouping again.
 */

export interface FaceToGroup {
  readonly id: string;
  /** L2-normalised: the dot product is the cosine. */
  readonly vector: Float32Array;
  /** The person a curator put this face with, if any. */
  readonly person?: string;
}

export interface FaceGroup {
  /** Indexes into the faces given, in their order. */
  readonly members: readonly number[];
  readonly person?: string;
}

/** More faces than this at once take too long and too much memory (an n x n matrix): ask for a smaller scope. */
export const MAX_FACES_PER_GROUPING = 5000;

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export function groupFaces(faces: readonly FaceToGroup[], threshold: number): FaceGroup[] {
  // Start: one group per pinned person, one per unpinned face.
  const groups: { members: number[]; person?: string }[] = [];
  const byPerson = new Map<string, number>();
  faces.forEach((face, i) => {
    if (face.person === undefined) return void groups.push({ members: [i] });
    const g = byPerson.get(face.person);
    if (g === undefined) {
      byPerson.set(face.person, groups.length);
      groups.push({ members: [i], person: face.person });
    } else groups[g]!.members.push(i);
  });
  const n = groups.length;
  const alive = new Uint8Array(n).fill(1);
  const size = Float64Array.from(groups, (g) => g.members.length);
  // Group-to-group mean cosine; -Infinity where curators said "different people".
  const sim = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = -Infinity;
      if (groups[a]!.person === undefined || groups[b]!.person === undefined) {
        s = 0;
        for (const i of groups[a]!.members) for (const j of groups[b]!.members) s += dot(faces[i]!.vector, faces[j]!.vector);
        s /= size[a]! * size[b]!;
      }
      sim[a * n + b] = sim[b * n + a] = s;
    }
  }
  // Each row's best partner: with average linkage a merged group is never closer to a third than
  // the closer of its two parts was, so only rows that pointed at a merged group need a new search.
  const best = new Int32Array(n).fill(-1);
  const bestOf = (a: number): number => {
    let at = -1;
    let top = -Infinity;
    for (let b = 0; b < n; b++) {
      if (b === a || !alive[b]) continue;
      const s = sim[a * n + b]!;
      if (s > top) [top, at] = [s, b];
    }
    return at;
  };
  for (let a = 0; a < n; a++) best[a] = bestOf(a);

  for (;;) {
    let a = -1;
    let top = threshold;
    for (let i = 0; i < n; i++) {
      if (!alive[i] || best[i]! < 0) continue;
      const s = sim[i * n + best[i]!]!;
      if (s >= top) [top, a] = [s, i];
    }
    if (a < 0) break;
    const b = best[a]!;
    // b joins a: a's row becomes the merged group's (Lance-Williams for average linkage).
    for (let c = 0; c < n; c++) {
      if (!alive[c] || c === a || c === b) continue;
      const sa = sim[a * n + c]!;
      const sb = sim[b * n + c]!;
      const s = sa === -Infinity || sb === -Infinity ? -Infinity : (size[a]! * sa + size[b]! * sb) / (size[a]! + size[b]!);
      sim[a * n + c] = sim[c * n + a] = s;
    }
    // An unpinned group that joins a pinned one takes its person (its "never with" rows came with it above).
    const person = groups[a]!.person ?? groups[b]!.person;
    groups[a] = { members: [...groups[a]!.members, ...groups[b]!.members], ...(person !== undefined && { person }) };
    size[a] = size[a]! + size[b]!;
    alive[b] = 0;
    for (let c = 0; c < n; c++) if (alive[c] && (c === a || best[c] === a || best[c] === b)) best[c] = bestOf(c);
  }
  return groups.filter((_, i) => alive[i]).map((g) => ({ members: [...g.members].sort((x, y) => x - y), ...(g.person !== undefined && { person: g.person }) }));
}

/** The face most like the others of its group (highest mean cosine): what a list shows for a person. */
export function representativeOf(faces: readonly FaceToGroup[], members: readonly number[]): number {
  let at = members[0]!;
  let top = -Infinity;
  for (const i of members) {
    let s = 0;
    for (const j of members) if (i !== j) s += dot(faces[i]!.vector, faces[j]!.vector);
    if (s > top) [top, at] = [s, i];
  }
  return at;
}
