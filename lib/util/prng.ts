/**
 * Seeded randomness that JavaScript controls (TensorFlow.js's own seeded ops aside):
 *
 *   mulberry32(seed)          a 32-bit PRNG returning floats in [0, 1)
 *   shuffledIndices(n, rand)  a Fisher-Yates permutation of 0..n-1
 *   deriveSeed(seed, ...)     one base seed split into independent, named streams
 *                             ('init'/<weight>, 'shuffle'/<epoch>, 'dropout'), so runs repeat exactly.
 */

/** mulberry32: a tiny 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `random`. */
export function shuffledIndices(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

/** A 31-bit seed mixed from a base seed and labels (murmur-style), so streams do not overlap. */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const ch of parts.join('/')) {
    h = Math.imul(h ^ ch.charCodeAt(0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 1; // keep it a positive int32: tfjs seeds go through toString() into seedrandom
}
