/**
 * The native-graph engine the course's three recurrent layers run on (KerasGRU, KerasLSTM, KerasSimpleRNN):
 * a cell's time steps unrolled into TensorFlow graphs, with a hand-written backward pass, run one chunk at
 * a time and made one differentiable tfjs op. The cells' graphs live in lib/engine/gru-graphs.ts,
 * lib/engine/lstm-graphs.ts and lib/engine/simple-rnn-graphs.ts; lib/engine/graph-def.ts writes and loads them.
 *
 * Why: tfjs-node runs every op eagerly, one call from JavaScript into TensorFlow each, and for the small
 * ops of a recurrent step ([32, 128] elementwise) the call costs more than the arithmetic: a step of a
 * dozen ops is mostly call overhead, once per time step, forward and backward (BENCHMARKS.md, "Why
 * graphs"). Keras avoids this by running the loop as one compiled graph; so does this engine:
 *   - the steps are unrolled, in chunks of up to MAX_CHUNK steps, into a TensorFlow GraphDef, loaded once
 *     through tfjs-node's SavedModel loader, and run with one session call per chunk;
 *   - a chunk's graph holds the forward pass (input projection, the steps, the stacks the backward pass
 *     needs) and the backward pass (the steps in reverse, then the weight gradients as a few big matmuls per
 *     block of BLOCK steps, which TensorFlow overlaps with the steps still running);
 *   - tf.customGrad makes the chunks one differentiable op, so model.fit, optimizer.minimize and tf.grad
 *     work as with any layer.
 *
 * The graph interface every cell's chunk graph follows (node names):
 *   inputs   x [K, B, D] (time-major), W, U, bias, inputMasks [G, B, D] and recurrentMasks [G, B, u] when the
 *            spec has dropout, and per carried state (STATES: h, and the LSTM's c) its value before the chunk
 *   forward  outputs: each state's value after the chunk, and the stacks [K, B, u] named by the cell's
 *            `saved` (always including H, every h_t)
 *   backward inputs: the saved stacks fed back, each state's value before the chunk (start) and the gradient
 *            of the loss with respect to its value after the chunk (gradIn), and dH [K, B, u] (the gradients of
 *            the outputs h_t) when every h_t is an output; outputs dX, dW, dU, dBias and each state's gradient
 *            before the chunk.
 * Inside the graphs everything is time-major ([K, batch, .]): a step's slice of a stack is then contiguous
 * memory, so unstacking costs no copy and stacking is a plain copy.
 */
import * as tf from '@tensorflow/tfjs-node';
import { compileGraph, type CompiledGraph, type Graph, type GraphOps, type Ref } from './graph-def';
import type { GateMasks } from './dropout';

/** The node names of one carried state in a chunk graph (see the module comment). */
export interface StateNames {
  /** Forward input: the state before the chunk. */
  init: string;
  /** Forward output: the state after the chunk. */
  final: string;
  /** Backward input: the state before the chunk (again, for the backward pass). */
  start: string;
  /** Backward input: d loss / d (state after the chunk). */
  gradIn: string;
  /** Backward output: d loss / d (state before the chunk). */
  gradOut: string;
}

/** The hidden state h, which every cell carries and outputs. */
export const H_STATE: StateNames = { init: 'h0', final: 'hT', start: 'hStart', gradIn: 'gradIn', gradOut: 'dh0' };
/** The LSTM's cell state c, carried but not output. */
export const C_STATE: StateNames = { init: 'c0', final: 'cT', start: 'cStart', gradIn: 'gradInC', gradOut: 'dc0' };

/** A cell as the engine runs it: its chunk graphs and what they carry and save. */
export interface GraphCell {
  /** The compiled graph of a chunk of `steps` steps (see compiledOnce). */
  chunk(steps: number): CompiledGraph;
  /** The carried states, h first. */
  states: readonly StateNames[];
  /** The stacks the forward pass saves for the backward one ('H' among them). */
  saved: readonly string[];
}

// ---------------------------------------------------------------------------
// Pieces of graph the cells share

// Steps per block: the big matmuls (input projection, weight gradients) run per block of steps,
// so TensorFlow can overlap them with the step-by-step loop on another core.
const BLOCK = 16;

/** A chunk's steps as blocks of `size` (K and BLOCK are powers of two, so blocks tile the chunk). */
export function blocksOf(steps: number): { count: number; size: number } {
  const size = Math.min(steps, BLOCK);
  return { count: steps / size, size };
}

/** Splits a time-major [K, B, w] tensor into its blocks [size, B, w] without copying. */
export function timeBlocks(o: GraphOps, t: Ref, steps: number, width: number): Ref[] {
  const { count, size } = blocksOf(steps);
  return count === 1 ? [t] : o.unstack(o.reshape(t, [count, size, -1, width]), count, 0);
}

/** Per-gate masks [batch, width] from a [G, batch, width] input (null: no dropout). */
export function gateMasks(o: GraphOps, masks: Ref | null, gates: number): Ref[] | null {
  return masks ? o.unstack(masks, gates, 0) : null;
}

/**
 * x_t W_g + b_g for every step of the chunk and every gate g: per gate, K tensors [batch, units], one matmul
 * per gate and block of steps (x masked per gate when `inputMasks`).
 */
export function projectInputs(
  o: GraphOps,
  dims: { steps: number; units: number; inputDim: number },
  x: Ref,
  kernels: readonly Ref[],
  biases: readonly Ref[],
  inputMasks: Ref[] | null,
): Ref[][] {
  const { units, inputDim } = dims;
  const { size } = blocksOf(dims.steps);
  const xBlocks = timeBlocks(o, x, dims.steps, inputDim);
  return kernels.map((kernel, gate) =>
    xBlocks.flatMap((xb) => {
      const xg = inputMasks ? o.mul(xb, inputMasks[gate]) : xb; // [size, B, D] * [B, D]
      const projected = o.biasAdd(o.matMul(o.reshape(xg, [-1, inputDim]), kernel), biases[gate]);
      return o.unstack(o.reshape(projected, [size, -1, units]), size, 0);
    }),
  );
}

/**
 * The weight gradients of a cell whose every gate is pre_g = (x_t * mx_g) W_g + b_g + (h_{t-1} * mh_g) U_g
 * (LSTM, SimpleRNN), from d loss / d pre_g of every step (dPre[g][t]), as a few big matmuls per block of steps.
 * Returns dX [K, B, D], dW [D, G u], dU [u, G u], dBias [G u].
 */
export function plainGateWeightGrads(
  o: GraphOps,
  dims: { steps: number; units: number; inputDim: number },
  refs: { x: Ref; W: Ref; Wg: Ref[]; hPrev: (t: number) => Ref; inputMasks: Ref[] | null; recMasks: Ref[] | null },
  dPre: Ref[][],
): { dX: Ref; dW: Ref; dU: Ref; dBias: Ref } {
  const { steps: K, units, inputDim } = dims;
  const gates = dPre.map((_, g) => g);
  const rows = (t: Ref, width: number) => o.reshape(t, [-1, width]);
  const { count, size } = blocksOf(K);
  const xBlocks = timeBlocks(o, refs.x, K, inputDim);
  const parts = Array.from({ length: count }, (_, b) => {
    const span = Array.from({ length: size }, (_, i) => b * size + i);
    const block = (perStep: Ref[]) =>
      rows(
        o.stack(
          span.map((t) => perStep[t]),
          0,
        ),
        units,
      );
    const d = dPre.map(block); // [size*B, u] per gate
    const hPrev = o.stack(span.map(refs.hPrev), 0);
    const hRows = gates.map((g) => rows(refs.recMasks ? o.mul(hPrev, refs.recMasks[g]) : hPrev, units));
    const xRows = gates.map((g) => rows(refs.inputMasks ? o.mul(xBlocks[b], refs.inputMasks[g]) : xBlocks[b], inputDim));
    const dX = refs.inputMasks
      ? o.addN(
          gates.map((g) => o.mul(o.reshape(o.matMul(d[g], refs.Wg[g], false, true), [size, -1, inputDim]), (refs.inputMasks as Ref[])[g])),
        )
      : o.reshape(o.matMul(gates.length === 1 ? d[0] : o.concat(d, 1), refs.W, false, true), [size, -1, inputDim]);
    const cat = (xs: Ref[]) => (xs.length === 1 ? xs[0] : o.concat(xs, 1));
    return {
      dX,
      dW: cat(gates.map((g) => o.matMul(xRows[g], d[g], true, false))),
      dU: cat(gates.map((g) => o.matMul(hRows[g], d[g], true, false))),
      dBias:
        gates.length === 1
          ? o.sum(d[0], [0])
          : o.concat(
              d.map((dg) => o.sum(dg, [0])),
              0,
            ),
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
  return { dX, dW, dU, dBias };
}

// ---------------------------------------------------------------------------
// Compiling, chunking, running

// Graphs are built and compiled once per structure (the batch size is left open), then reused for every batch.
const compiledGraphs = new Map<string, CompiledGraph>();

/** The graph `build()` makes, compiled on first use and cached under `key` (which must name its whole structure). */
export function compiledOnce(key: string, build: () => Graph): CompiledGraph {
  let compiled = compiledGraphs.get(key);
  if (!compiled) {
    compiled = compileGraph(build());
    compiledGraphs.set(key, compiled);
  }
  return compiled;
}

// Longest unrolled chunk. Longer chunks mean fewer session calls but bigger graphs to compile.
const MAX_CHUNK = 64;

/** Chunk lengths covering `time` steps: as many MAX_CHUNK as fit, then powers of two (at most ~8 graph sizes). */
export function chunkLengths(time: number): number[] {
  const lengths: number[] = [];
  let left = time;
  for (let k = MAX_CHUNK; k >= 1; k >>= 1) {
    for (; left >= k; left -= k) lengths.push(k);
  }
  return lengths;
}

// Is tfjs recording a gradient tape right now (so the backward pass may run)?
function recordingGradients(): boolean {
  const state = tf.engine().state;
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

/** A recurrent layer's three weights in Keras's layout (gate blocks side by side). */
export type LayerWeights = { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias: tf.Tensor };

// [batch, time, .] <-> time-major chunks [K, batch, .] of the given lengths, the graphs' layout
function timeMajorChunks(t: tf.Tensor, lengths: number[]): tf.Tensor[] {
  const timeMajor = tf.transpose(t, [1, 0, 2]);
  return lengths.length === 1 ? [timeMajor] : tf.split(timeMajor, lengths, 0);
}
function fromChunks(ts: tf.Tensor[]): tf.Tensor {
  return tf.transpose(ts.length === 1 ? ts[0] : tf.concat(ts, 0), [1, 0, 2]);
}

/**
 * Runs `cell` over x [batch, time, inputDim] from the initial states (one [batch, units] per cell.states) as
 * one differentiable op: returns every h_t [batch, time, units] (returnSequences) or the last one [batch, units].
 * Gradients flow to x, the three weights and the initial states.
 */
export function runCell(
  cell: GraphCell,
  x: tf.Tensor3D,
  weights: LayerWeights,
  initialStates: tf.Tensor2D[],
  options: { returnSequences: boolean; masks: GateMasks },
): tf.Tensor {
  const [, time] = x.shape;
  const { returnSequences, masks } = options;
  const { states, saved } = cell;
  if (initialStates.length !== states.length)
    throw new Error(`recurrent graphs: ${states.length} initial states needed, got ${initialStates.length}`);
  const lengths = chunkLengths(time);
  const maskFeeds: Record<string, tf.Tensor> = {};
  if (masks.input) maskFeeds.inputMasks = tf.stack(masks.input); // [G, batch, inputDim]
  if (masks.recurrent) maskFeeds.recurrentMasks = tf.stack(masks.recurrent); // [G, batch, units]
  const toChunks = (t: tf.Tensor) => timeMajorChunks(t, lengths);
  const recording = recordingGradients();
  const finals = states.map((s) => s.final);

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, W, U, bias, ...initial] = args as tf.Tensor[];
    const xs = toChunks(xIn);
    const constants = { W, U, bias, ...maskFeeds };
    const perChunk: tf.Tensor[][] = []; // [x, ...states before, ...saved] of every chunk
    const outputs: tf.Tensor[] = [];
    let current = initial;
    // without a gradient tape, fetch only the outputs: TensorFlow then skips stacking the rest
    const fetch = recording ? [...saved, ...finals] : returnSequences ? ['H', ...finals] : finals;
    lengths.forEach((steps, c) => {
      const feeds: Record<string, tf.Tensor> = { ...constants, x: xs[c] };
      states.forEach((s, i) => (feeds[s.init] = current[i]));
      const results = cell.chunk(steps)(feeds, fetch);
      const byName = new Map(fetch.map((name, i) => [name, results[i]]));
      if (recording) perChunk.push([xs[c], ...current, ...saved.map((name) => byName.get(name) as tf.Tensor)]);
      if (returnSequences) outputs.push(byName.get('H') as tf.Tensor);
      current = finals.map((name) => byName.get(name) as tf.Tensor);
    });
    // the backward pass runs after this call's tidy: keep what it needs, masks and weights included
    const constantNames = Object.keys(constants);
    if (recording) save([...Object.values(constants), ...perChunk.flat()]);
    const value = returnSequences ? fromChunks(outputs) : current[0];

    const gradFunc = (dy: tf.Tensor | tf.Tensor[], savedTensors: tf.Tensor[]): tf.Tensor[] => {
      const dOut = dy as tf.Tensor;
      const keptConstants = Object.fromEntries(constantNames.map((name, i) => [name, savedTensors[i]]));
      const kept = savedTensors.slice(constantNames.length);
      const dHs = returnSequences ? toChunks(dOut) : [];
      const width = 1 + states.length + saved.length;
      const dXs: tf.Tensor[] = [];
      const [dWs, dUs, dBiases]: tf.Tensor[][] = [[], [], []];
      // d loss / d (each state after the chunk): h_T's from the output unless every h_t is an output
      let grads: tf.Tensor[] = states.map((_, i) => (i === 0 && !returnSequences ? dOut : tf.zerosLike(initial[i])));
      const fetchBack = ['dX', 'dW', 'dU', 'dBias', ...states.map((s) => s.gradOut)];
      for (let c = lengths.length - 1; c >= 0; c--) {
        const [xc, ...rest] = kept.slice(c * width, (c + 1) * width);
        const starts = rest.slice(0, states.length);
        const savedChunk = rest.slice(states.length);
        const feeds: Record<string, tf.Tensor> = { ...keptConstants, x: xc };
        states.forEach((s, i) => {
          feeds[s.start] = starts[i];
          feeds[s.gradIn] = grads[i];
        });
        saved.forEach((name, i) => (feeds[name] = savedChunk[i]));
        if (returnSequences) feeds.dH = dHs[c];
        const [dX, dW, dU, dBias, ...dStates] = cell.chunk(lengths[c])(feeds, fetchBack);
        dXs.unshift(dX);
        dWs.push(dW);
        dUs.push(dU);
        dBiases.push(dBias);
        grads = dStates;
      }
      const total = (ts: tf.Tensor[]) => (ts.length === 1 ? ts[0] : tf.addN(ts));
      return [fromChunks(dXs), total(dWs), total(dUs), total(dBiases), ...grads];
    };
    return { value, gradFunc };
  });
  return op(x, weights.kernel, weights.recurrentKernel, weights.bias, ...initialStates);
}
