/**
 * The GRU's chunk graphs for the native-graph engine (lib/engine/chunked-graphs.ts): the forward steps and the
 * hand-written backward pass, what makes KerasGRU.call fast (lib/cells/gru.ts holds the equations and the layer).
 * The engine's module comment says why graphs, how chunks run and the node names every cell's graph uses;
 * the GRU's forward saves h_t, z_t, r_t, candidate_t (and n_t = h_{t-1} U_h + b_rec,h when resetAfter), and its
 * backward pass runs the steps in reverse, then the weight gradients per block of steps.
 * test/engine/gru-graphs.test.ts checks outputs and gradients against the plain equations; test/engine/graph-def.test.ts
 * pins these graphs' bytes.
 */
import * as tf from '@tensorflow/tfjs-node';
import { Graph, graphOps, type GraphOps, type Ref } from './graph-def';
import type { GateMasks } from './dropout';
import { H_STATE, blocksOf, compiledOnce, gateMasks, projectInputs, runCell, timeBlocks, type GraphCell } from './chunked-graphs';

/** A GRU's weights in Keras's layout (lib/cells/gru.ts states the conventions). */
export type GruWeights = {
  kernel: tf.Tensor2D;
  recurrentKernel: tf.Tensor2D;
  bias: tf.Tensor;
};

/** Gates held at a constant (lib/cells/gru.ts); an absent gate is computed as usual. */
export type FixedGates = { update?: 0 | 1; reset?: 0 | 1 };

/** What fixes a chunk graph's structure (the batch size is left open). */
export type ChunkSpec = {
  steps: number; // K, the unrolled length
  units: number;
  inputDim: number;
  resetAfter: boolean;
  inputDropout: boolean; // per-gate masks on x_t
  recurrentDropout: boolean; // per-gate masks on h_{t-1}
  sequences: boolean; // backward: does every h_t receive a gradient (returnSequences), or only h_T?
  // Gates held at 0 or 1 (lib/cells/gru.ts, normalized); absent for the GRU of the equations, whose graphs
  // (and cache keys) are then exactly those written before the option existed.
  fixedGates?: FixedGates;
};

// What the forward pass saves for the backward one, each [K, batch, units]:
// h_t, z_t, r_t, candidate_t, and n_t = h_{t-1} Uh + b_rec,h (resetAfter only).
const SAVED = ['H', 'Z', 'R', 'C', 'N'] as const;
type SavedName = (typeof SAVED)[number];
function savedNames(resetAfter: boolean): SavedName[] {
  return resetAfter ? [...SAVED] : SAVED.filter((n) => n !== 'N');
}

const GATES = [0, 1, 2] as const; // z, r, h

// The weights as the equations use them: per-gate blocks, and the biases split the way Keras adds them.
function graphWeights(o: GraphOps, g: Graph, spec: ChunkSpec) {
  const { units, resetAfter } = spec;
  const W = g.input('W');
  const U = g.input('U');
  const bias = g.input('bias');
  let inputBias = bias; // [3u]: Keras adds b_rec to b_in for z and r
  let candidateBias: Ref | null = null; // [u]: b_rec,h, which the reset gate multiplies
  if (resetAfter) {
    const [bIn, bRec] = o.unstack(bias, 2, 0);
    inputBias = o.add(bIn, o.mul(bRec, g.floats([...Array(2 * units).fill(1), ...Array(units).fill(0)])));
    candidateBias = o.slice(bRec, [2 * units], [units]);
  }
  return {
    W,
    U,
    Wg: o.split(W, 1, 3), // [inputDim, u] each
    Ug: o.split(U, 1, 3), // [u, u] each
    Uzr: o.slice(U, [0, 0], [-1, 2 * units]), // the blocks reset-before can fuse
    inputBiasG: o.split(inputBias, 0, 3),
    candidateBias,
  };
}
type GraphWeights = ReturnType<typeof graphWeights>;

// What the forward and backward parts of a chunk graph share: the input x [K, B, D], the weights, the masks.
type Shared = { x: Ref; w: GraphWeights; inputMasks: Ref[] | null; recMasks: Ref[] | null };

// Forward: h0 -> K steps -> hT, and the stacks the backward part needs (outputs named as in SAVED).
function addForward(g: Graph, o: GraphOps, spec: ChunkSpec, { x, w, inputMasks, recMasks }: Shared): Record<SavedName, Ref> {
  const { steps: K, units, resetAfter } = spec;
  const h0 = g.input('h0');
  const [xz, xr, xh] = projectInputs(o, spec, x, w.Wg, w.inputBiasG, inputMasks);
  const candidateBias3 = resetAfter ? o.concat([g.floats(Array(2 * units).fill(0)), w.candidateBias as Ref], 0) : null;
  // h_{t-1} U_g for the gates that do not wait for r (z, r; and h when resetAfter), n_t including b_rec,h
  const recurrentTerms = (h: Ref): Ref[] => {
    if (recMasks) {
      const terms = GATES.slice(0, resetAfter ? 3 : 2).map((gate) => o.matMul(o.mul(h, recMasks[gate]), w.Ug[gate]));
      if (resetAfter) terms[2] = o.biasAdd(terms[2], w.candidateBias as Ref);
      return terms;
    }
    if (resetAfter) return o.split(o.biasAdd(o.matMul(h, w.U), candidateBias3 as Ref), 1, 3);
    return o.split(o.matMul(h, w.Uzr), 1, 2);
  };

  // A held gate is a constant [B, u] tensor, saved like a computed one: the backward pass multiplies its
  // gradient by g (1 - g) (SigmoidGrad), which is 0 for g = 0 or 1, so its weights get none (test/cells/gru.test.ts).
  const held = (value: 0 | 1 | undefined): Ref | null => (value === undefined ? null : g.op(value === 1 ? 'OnesLike' : 'ZerosLike', [h0]));
  const heldZ = held(spec.fixedGates?.update);
  const heldR = held(spec.fixedGates?.reset);

  const saved: Record<SavedName, Ref[]> = { H: [], Z: [], R: [], C: [], N: [] };
  let h = h0;
  for (let t = 0; t < K; t++) {
    const [hUz, hUr, n] = recurrentTerms(h);
    const z = heldZ ?? o.sigmoid(o.add(xz[t], hUz));
    const r = heldR ?? o.sigmoid(o.add(xr[t], hUr));
    let candidate: Ref;
    if (resetAfter) {
      saved.N.push(n);
      candidate = o.tanh(o.add(xh[t], o.mul(r, n)));
    } else {
      const hForCandidate = recMasks ? o.mul(h, recMasks[2]) : h;
      candidate = o.tanh(o.add(xh[t], o.matMul(o.mul(r, hForCandidate), w.Ug[2])));
    }
    // = z h + (1 - z) candidate, with the *unmasked* h_{t-1}, as Keras does: dropout only touches what feeds the matmuls
    h = o.add(candidate, o.mul(z, o.sub(h, candidate)));
    saved.H.push(h);
    saved.Z.push(z);
    saved.R.push(r);
    saved.C.push(candidate);
  }
  g.output('hT', h);
  const stacks = {} as Record<SavedName, Ref>;
  for (const name of savedNames(resetAfter)) stacks[name] = g.output(name, o.stack(saved[name], 0));
  return stacks;
}

// Backward: from the saved stacks (fed back in) and dL/dh_T, the gradients of x, the weights and h0.
function addBackward(g: Graph, o: GraphOps, spec: ChunkSpec, shared: Shared, stacks: Record<SavedName, Ref>): void {
  const { w, recMasks } = shared;
  const { steps: K, resetAfter } = spec;
  const hStart = g.input('hStart'); // h before the chunk's first step
  const gradIn = g.input('gradIn'); // dL/dh at the chunk's last step, from the steps after it
  const perStep = (n: SavedName) => o.unstack(stacks[n], K, 0);
  const [H, Z, R, C] = (['H', 'Z', 'R', 'C'] as const).map(perStep);
  const N = resetAfter ? perStep('N') : null;
  const dOut = spec.sequences ? o.unstack(g.input('dH'), K, 0) : null; // gradients of the outputs h_t
  // the transpose of the forward's recurrentTerms: sum over gates of mask_g * (d_g U_g^T)
  const recurrentTermsGrad = (ds: Ref[]): Ref[] => {
    if (recMasks) return ds.map((d, gate) => o.mul(o.matMul(d, w.Ug[gate], false, true), recMasks[gate]));
    return [o.matMul(o.concat(ds, 1), resetAfter ? w.U : w.Uzr, false, true)];
  };

  // d loss / d pre-activations of z, r, candidate (= d loss / d (x_t W_g + b_g)), and d loss / d n_t
  const dZ: Ref[] = [],
    dR: Ref[] = [],
    dC: Ref[] = [],
    dN: Ref[] = [];
  let grad = gradIn;
  for (let t = K - 1; t >= 0; t--) {
    const hPrev = t > 0 ? H[t - 1] : hStart;
    if (dOut) grad = o.add(grad, dOut[t]);
    const [z, r, c] = [Z[t], R[t], C[t]];
    const gz = o.mul(grad, z);
    const dz = o.sigmoidGrad(z, o.mul(grad, o.sub(hPrev, c))); // h = z h_prev + (1 - z) c
    const dc = o.tanhGrad(c, o.sub(grad, gz));
    let dr: Ref;
    let terms: Ref[];
    if (resetAfter) {
      const dn = o.mul(dc, r); // c = tanh(xh + r n)
      dr = o.sigmoidGrad(r, o.mul(dc, (N as Ref[])[t]));
      dN[t] = dn;
      terms = recurrentTermsGrad([dz, dr, dn]);
    } else {
      const dq = o.matMul(dc, w.Ug[2], false, true); // c = tanh(xh + q Uh), q = r * (h_prev * m_h)
      const hForCandidate = recMasks ? o.mul(hPrev, recMasks[2]) : hPrev;
      dr = o.sigmoidGrad(r, o.mul(dq, hForCandidate));
      const viaCandidate = o.mul(r, dq);
      terms = [...recurrentTermsGrad([dz, dr]), recMasks ? o.mul(viaCandidate, recMasks[2]) : viaCandidate];
    }
    dZ[t] = dz;
    dR[t] = dr;
    dC[t] = dc;
    grad = o.addN([gz, ...terms]);
  }

  addWeightGrads(g, o, spec, shared, { H, R, dZ, dR, dC, dN, hStart });
  g.output('dh0', grad);
}

// What the backward steps hand to the weight gradients: the saved h_t and r_t, and d loss / d pre-activations.
type StepGrads = { H: Ref[]; R: Ref[]; dZ: Ref[]; dR: Ref[]; dC: Ref[]; dN: Ref[]; hStart: Ref };

// The gradients of x and the weights (outputs dX, dW, dU, dBias) from the backward steps' pre-activation gradients.
function addWeightGrads(g: Graph, o: GraphOps, spec: ChunkSpec, { x, w, inputMasks, recMasks }: Shared, d: StepGrads): void {
  const { steps: K, units, inputDim, resetAfter } = spec;
  const { H, R, dZ, dR, dC, dN, hStart } = d;
  // The weight gradients, a few big matmuls per block of steps over [size*batch, .] rows; each block's
  // can start as soon as the loop has passed it.
  const rows = (t: Ref, width: number) => o.reshape(t, [-1, width]);
  const { count, size } = blocksOf(K);
  const xBlocks = timeBlocks(o, x, K, inputDim);
  const parts = Array.from({ length: count }, (_, b) => {
    const span = Array.from({ length: size }, (_, i) => b * size + i);
    const block = (refs: Ref[]) =>
      rows(
        o.stack(
          span.map((t) => refs[t]),
          0,
        ),
        units,
      );
    const dPre = [dZ, dR, dC].map(block); // what multiplies W_g (and U_g for z, r)
    const dRec = [dPre[0], dPre[1], resetAfter ? block(dN) : dPre[2]]; // what multiplies U_g
    const hPrev = o.stack(
      span.map((t) => (t > 0 ? H[t - 1] : hStart)),
      0,
    );
    const recurrentInput = (gate: number): Ref => {
      let s = recMasks ? o.mul(hPrev, recMasks[gate]) : hPrev;
      if (gate === 2 && !resetAfter)
        s = o.mul(
          s,
          o.stack(
            span.map((t) => R[t]),
            0,
          ),
        ); // q = r * h_prev (* m_h)
      return rows(s, units);
    };
    const xRows = GATES.map((gate) => rows(inputMasks ? o.mul(xBlocks[b], inputMasks[gate]) : xBlocks[b], inputDim));
    const dX = inputMasks
      ? o.addN(GATES.map((gate) => o.mul(o.reshape(o.matMul(dPre[gate], w.Wg[gate], false, true), [size, -1, inputDim]), inputMasks[gate])))
      : o.reshape(o.matMul(o.concat(dPre, 1), w.W, false, true), [size, -1, inputDim]);
    const sumRows = (d: Ref) => o.sum(d, [0]);
    const dInputBias = o.concat(dPre.map(sumRows), 0);
    return {
      dX,
      dW: o.concat(
        GATES.map((gate) => o.matMul(xRows[gate], dPre[gate], true, false)),
        1,
      ),
      dU: o.concat(
        GATES.map((gate) => o.matMul(recurrentInput(gate), dRec[gate], true, false)),
        1,
      ),
      dBias: resetAfter ? o.stack([dInputBias, o.concat(dRec.map(sumRows), 0)], 0) : dInputBias,
    };
  });
  const dX =
    count === 1
      ? parts[0].dX
      : o.concat(
          parts.map((p) => p.dX),
          0,
        );
  const [dW, dU, dBias] = (['dW', 'dU', 'dBias'] as const).map((k) => o.addN(parts.map((p) => p[k])));

  g.output('dX', dX);
  g.output('dW', dW);
  g.output('dU', dU);
  g.output('dBias', dBias);
}

/** The graph of one chunk of K steps: forward (x, h0 -> hT and saved stacks) and backward (feed the stacks back). */
export function chunkGraph(spec: ChunkSpec): Graph {
  const g = new Graph();
  const o = graphOps(g);
  const shared: Shared = {
    x: g.input('x'), // [K, B, D]
    w: graphWeights(o, g, spec),
    inputMasks: gateMasks(o, spec.inputDropout ? g.input('inputMasks') : null, 3),
    recMasks: gateMasks(o, spec.recurrentDropout ? g.input('recurrentMasks') : null, 3),
  };
  addBackward(g, o, spec, shared, addForward(g, o, spec, shared));
  return g;
}

/** How fastGru runs: the GRU variant, what it returns, the dropout masks of this call, and the held gates (normalized, see lib/cells/gru.ts). */
export type FastGruOptions = { resetAfter: boolean; returnSequences: boolean; masks: GateMasks; fixedGates?: FixedGates };

/**
 * The whole GRU over x [batch, time, inputDim] as one differentiable op, run as native graphs:
 * returns every h_t [batch, time, units] (returnSequences) or the last one [batch, units].
 * Gradients flow to x, the three weights and the initial state.
 */
export function fastGru(x: tf.Tensor3D, weights: GruWeights, h0: tf.Tensor2D, options: FastGruOptions): tf.Tensor {
  const { resetAfter, returnSequences, masks, fixedGates } = options;
  const spec = (steps: number): ChunkSpec => ({
    steps,
    units: weights.recurrentKernel.shape[0],
    inputDim: x.shape[2],
    resetAfter,
    inputDropout: masks.input !== null,
    recurrentDropout: masks.recurrent !== null,
    sequences: returnSequences,
    ...(fixedGates ? { fixedGates } : {}),
  });
  const cell: GraphCell = {
    chunk: (steps) => compiledOnce(`gru ${JSON.stringify(spec(steps))}`, () => chunkGraph(spec(steps))),
    states: [H_STATE],
    saved: savedNames(resetAfter),
  };
  return runCell(cell, x, weights, [h0], { returnSequences, masks });
}
