// KerasGRU, the course's GRU as a tfjs layer with keras.layers.GRU's semantics, in Keras's weight layout, so
// weights move 1:1 between this course, tf.layers and Keras (Python). Its equations and conventions are those of
// lib/cells/gru.ts (gruStep, gruSequence); its call runs them as native TensorFlow graphs with a hand-written
// backward pass (lib/engine/gru-graphs.ts), because tfjs-node runs each op as a separate call and a GRU step is a
// dozen tiny ops (BENCHMARKS.md, "Why graphs"). test/cells/gru.test.ts checks the layer's outputs and gradients
// against gruSequence (test/cells/harness.ts).
//
// A gate may be held at a constant (fixedGates, not a Keras option; the course uses it to measure what each gate
// buys, notebook 05): reset 1 holds r_t = 1 (the candidate always sees all of h_{t-1}), reset 0 holds r_t = 0;
// update 0 holds z_t = 0 ("always write": h_t = candidate_t), update 1 holds z_t = 1 (h_t = h_{t-1}). The held
// gate's weights (its blocks of W, U and b) then do not reach the output and get zero gradient; they stay in the
// layout, so weights still move 1:1 to Keras. For the plain equations, holdGates gives gruStep and gruSequence the
// weights of the same GRU: the held gate sees no input or state, and a bias where sigmoid is exactly 0 or 1.
import * as tf from '@tensorflow/tfjs-node';
import type { GateMasks } from '../engine/dropout';
import { fastGru, type FixedGates, type GruWeights } from '../engine/gru-graphs';
import { gruSequence, type GruSequenceResult } from './gru';
import { checkWeights, failCell, gruLayout, type CellLayout } from './layout';
import { KerasRecurrentLayer, type KerasRecurrentArgs, type RecurrentCallKwargs } from './recurrent-layer';

export type { FixedGates, GruWeights };

/** One tensor per gate block, in the order z, r, h. */
export type PerGate<T> = [T, T, T];

function fail(message: string): never {
  return failCell({ cell: 'gru' }, message);
}

/**
 * The fixed gates in canonical form (keys in the order update, reset; absent ones left out), or null when no
 * gate is held. Throws a clear error for anything but { update?: 0 | 1, reset?: 0 | 1 }.
 */
export function normalizeFixedGates(value: unknown): FixedGates | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    fail(`fixedGates must be an object like { reset: 1 } or { update: 0 }, got ${JSON.stringify(value)}`);
  }
  const given = value as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => k !== 'update' && k !== 'reset');
  if (unknown.length > 0) fail(`fixedGates knows the gates "update" and "reset", not ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const out: FixedGates = {};
  for (const gate of ['update', 'reset'] as const) {
    const v = given[gate];
    if (v === undefined) continue;
    // Only 0 and 1: there sigmoid'(a) = g (1 - g) = 0, the derivative of a held gate, so the
    // hand-written backward pass of lib/engine/gru-graphs.ts needs no special case (and a half-open gate teaches nothing).
    if (v !== 0 && v !== 1) fail(`fixedGates.${gate} must be 0 or 1 (a gate held shut or open), got ${JSON.stringify(v)}`);
    out[gate] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

// sigmoid(+-HELD_BIAS) is exactly 1 or 0 in float32 (and its derivative exactly 0).
const HELD_BIAS = 1e4;

/**
 * The weights with which gruStep / gruSequence compute the GRU with `fixedGates` held (see the top): a held gate's
 * blocks of W and U are zeroed and its input-side bias set to +-1e4, so its pre-activation is exactly that and the
 * gate exactly 1 or 0. Returns `weights` itself when no gate is held.
 */
export function holdGates(weights: GruWeights, fixedGates: FixedGates | undefined, { resetAfter = true } = {}): GruWeights {
  const fixed = normalizeFixedGates(fixedGates);
  if (!fixed) return weights;
  checkWeights(gruLayout(resetAfter), weights, weights.kernel.shape[0]);
  return tf.tidy(() => {
    const units = weights.recurrentKernel.shape[0];
    const perColumn = (value: (held: 0 | 1 | undefined) => number) =>
      tf.tensor1d([fixed.update, fixed.reset, undefined].flatMap((held) => Array<number>(units).fill(value(held))));
    const keep = perColumn((held) => (held === undefined ? 1 : 0)); // 1 on the columns of computed gates
    const pinned = perColumn((held) => (held === undefined ? 0 : held === 1 ? HELD_BIAS : -HELD_BIAS));
    const [inputBias, recurrentBias] = resetAfter ? tf.unstack(weights.bias) : [weights.bias, null];
    const heldInputBias = inputBias.mul(keep).add(pinned);
    return {
      kernel: weights.kernel.mul(keep) as tf.Tensor2D,
      recurrentKernel: weights.recurrentKernel.mul(keep) as tf.Tensor2D,
      bias: recurrentBias ? tf.stack([heldInputBias, recurrentBias.mul(keep)]) : heldInputBias,
    };
  });
}

/** Constructor arguments of KerasGRU; defaults follow keras.layers.GRU (lib/cells/recurrent-layer.ts has the shared ones). */
export interface KerasGRUArgs extends KerasRecurrentArgs {
  resetAfter?: boolean; // default true
  fixedGates?: FixedGates; // not in Keras: gates held at 0 or 1 (see the top of this file), default none
}

/** Keyword arguments `call` understands (tfjs passes `training` during model.fit). */
export type KerasGRUCallKwargs = RecurrentCallKwargs;

/**
 * keras.layers.GRU for tfjs: resetAfter, sigmoid gates, Keras's initialisers (given, or its defaults) and
 * per-gate dropout (lib/cells/recurrent-layer.ts, lib/engine/dropout.ts); call runs the native graphs of lib/engine/gru-graphs.ts.
 */
export class KerasGRU extends KerasRecurrentLayer {
  static className = 'KerasGRU';

  readonly resetAfter: boolean;
  /** The gates held at a constant, or null (the GRU of the equations). */
  readonly fixedGates: FixedGates | null;

  constructor(args: KerasGRUArgs) {
    super(args);
    this.resetAfter = args.resetAfter ?? true;
    this.fixedGates = normalizeFixedGates(args.fixedGates);
  }

  protected layout(): CellLayout {
    return gruLayout(this.resetAfter);
  }

  protected recur(x: tf.Tensor3D, weights: GruWeights, [h0]: tf.Tensor2D[], masks: GateMasks): tf.Tensor {
    return fastGru(x, weights, h0, {
      resetAfter: this.resetAfter,
      returnSequences: this.returnSequences,
      masks,
      ...(this.fixedGates ? { fixedGates: this.fixedGates } : {}),
    });
  }

  /** The current weights in Keras's layout, ready for gruSequence / gruStep. */
  gruWeights(): GruWeights {
    return this.layerWeights();
  }

  /** Reads out z_t, r_t, candidate_t and h_t for x [batch, time, inputDim] with gruSequence (inference: no dropout). */
  gates(x: tf.Tensor3D, initialState?: tf.Tensor2D): GruSequenceResult {
    const resetAfter = this.resetAfter;
    return tf.tidy(() =>
      gruSequence(x, holdGates(this.gruWeights(), this.fixedGates ?? undefined, { resetAfter }), { resetAfter, initialState }),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      resetAfter: this.resetAfter,
      // only when a gate is held, so the saved config of the GRU of the equations stays as it was
      ...(this.fixedGates ? { fixedGates: { ...this.fixedGates } } : {}),
    };
  }
}
tf.serialization.registerClass(KerasGRU);

/** Factory in the style of tf.layers.*: kerasGru({units: 128}) is keras.layers.GRU(128). */
export function kerasGru(args: KerasGRUArgs): KerasGRU {
  return new KerasGRU(args);
}
