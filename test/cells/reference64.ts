// The three cells in float64 JavaScript loops: a port of the readable equations of lib/cells/gru.ts, lstm.ts and
// simple-rnn.ts, line for line, plus what the layers add: Keras's dropout masks, one per gate, where x_t and h_{t-1}
// enter the products (lib/engine/dropout.ts), and, for the GRU, gates held at 0 or 1 (lib/cells/gru-layer.ts).
// The tests' yardstick for values (float32 noise apart) and the function their finite differences differentiate;
// test/cells/harness.ts checks it against the readable step and sequence.
import type { FixedGates } from '../../lib/cells/gru-layer';

export type Vec = number[];
export type Mat = number[][];
export type Seq = number[][][]; // [batch][time][feature]

/** float64 masks: one [batch][dim] array per gate block, or null (no dropout on that side). */
export type Masks64 = { input: Mat[] | null; recurrent: Mat[] | null };
export const NO_MASKS64: Masks64 = { input: null, recurrent: null };

/** A run's named outputs, each [batch][time][units]; `h` is always there. */
export type Outputs64 = { h: Seq } & Record<string, Seq>;

const sigmoid = (a: number) => 1 / (1 + Math.exp(-a));

// v M[:, col] with v's entries masked (mask [dim] or none)
const dot = (v: Vec, M: Mat, col: number, mask?: Vec) => v.reduce((s, vj, j) => s + vj * (mask ? mask[j] : 1) * M[j][col], 0);

// Runs `step` over every sample and step from the initial states (one [batch][units] per carried state, default zeros).
function unroll(
  x: Seq,
  units: number,
  init: (Mat | undefined)[],
  step: (n: number, xt: Vec, states: Vec[]) => { out: Record<string, Vec>; states: Vec[] },
): Outputs64 {
  const out: Record<string, Seq> = {};
  x.forEach((xs, n) => {
    let states = init.map((s) => (s ? [...s[n]] : new Array<number>(units).fill(0)));
    for (const xt of xs) {
      const r = step(n, xt, states);
      states = r.states;
      for (const [k, v] of Object.entries(r.out)) ((out[k] ??= [])[n] ??= []).push(v);
    }
  });
  return out as Outputs64;
}

/** The GRU (lib/cells/gru.ts): z, r, candidate, h, with masks and held gates. bias [2][3u] (resetAfter) or [3u]. */
export function gru64(
  x: Seq,
  W: Mat,
  U: Mat,
  bias: Vec | Mat,
  o: { resetAfter: boolean; h0?: Mat; masks?: Masks64; fixedGates?: FixedGates },
): Outputs64 {
  const u = U.length;
  const { input, recurrent } = o.masks ?? NO_MASKS64;
  const bIn = o.resetAfter ? (bias as Mat)[0] : (bias as Vec);
  const bRec = o.resetAfter ? (bias as Mat)[1] : new Array<number>(3 * u).fill(0);
  return unroll(x, u, [o.h0], (n, xt, [h]) => {
    const xw = (g: number, k: number) => dot(xt, W, g * u + k, input?.[g][n]) + bIn[g * u + k];
    const hu = (g: number, k: number, v: Vec = h) => dot(v, U, g * u + k, recurrent?.[g][n]) + bRec[g * u + k];
    const z = h.map((_, k) => o.fixedGates?.update ?? sigmoid(xw(0, k) + hu(0, k)));
    const r = h.map((_, k) => o.fixedGates?.reset ?? sigmoid(xw(1, k) + hu(1, k)));
    const rh = h.map((hj, j) => r[j] * hj);
    const candidate = h.map((_, k) => Math.tanh(o.resetAfter ? xw(2, k) + r[k] * hu(2, k) : xw(2, k) + hu(2, k, rh)));
    const next = h.map((hk, k) => z[k] * hk + (1 - z[k]) * candidate[k]);
    return { out: { z, r, candidate, h: next }, states: [next] };
  });
}

/** The LSTM (lib/cells/lstm.ts): i, f, g, o, c, h, with masks. */
export function lstm64(x: Seq, W: Mat, U: Mat, b: Vec, o: { h0?: Mat; c0?: Mat; masks?: Masks64 } = {}): Outputs64 {
  const u = U.length;
  const { input, recurrent } = o.masks ?? NO_MASKS64;
  return unroll(x, u, [o.h0, o.c0], (n, xt, [h, cPrev]) => {
    const pre = (g: number, k: number) => dot(xt, W, g * u + k, input?.[g][n]) + dot(h, U, g * u + k, recurrent?.[g][n]) + b[g * u + k];
    const i = h.map((_, k) => sigmoid(pre(0, k)));
    const f = h.map((_, k) => sigmoid(pre(1, k)));
    const g = h.map((_, k) => Math.tanh(pre(2, k)));
    const og = h.map((_, k) => sigmoid(pre(3, k)));
    const c = cPrev.map((ck, k) => f[k] * ck + i[k] * g[k]);
    const next = c.map((ck, k) => og[k] * Math.tanh(ck));
    return { out: { i, f, g, o: og, c, h: next }, states: [next, c] };
  });
}

/** The simple RNN (lib/cells/simple-rnn.ts): h, with its one input and one recurrent mask. */
export function simpleRnn64(x: Seq, W: Mat, U: Mat, b: Vec, o: { h0?: Mat; masks?: Masks64 } = {}): Outputs64 {
  const { input, recurrent } = o.masks ?? NO_MASKS64;
  return unroll(x, U.length, [o.h0], (n, xt, [h]) => {
    const next = h.map((_, k) => Math.tanh(dot(xt, W, k, input?.[0][n]) + b[k] + dot(h, U, k, recurrent?.[0][n])));
    return { out: { h: next }, states: [next] };
  });
}
