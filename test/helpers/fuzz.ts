/** Helpers for fuzz tests: a seeded PRNG (so a failure reproduces) and a byte mutator. */

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Up to `edits` random changes: a random byte, a NUL, or truncation at a random point. */
export function mutate(r: () => number, base: Uint8Array, edits = 6): Buffer {
  const b = Buffer.from(base);
  const n = 1 + Math.floor(r() * edits);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * b.length);
    const what = r();
    if (what < 0.5) b[at] = Math.floor(r() * 256);
    else if (what < 0.75) b[at] = 0;
    else return b.subarray(0, at);
  }
  return b;
}
