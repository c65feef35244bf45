/**
 * The optimizer of the course: Adam exactly as keras.optimizers.Adam updates a dense variable, and
 * its state (step count, m, v) saved to and restored from optimizer.json + optimizer.bin, so that a
 * resumed run continues bit for bit.
 */
import * as tf from '@tensorflow/tfjs-node';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { writeAndSync } from '../util/files';

/** A tensor with the name it is saved under. */
export type NamedTensor = { name: string; tensor: tf.Tensor };

// Adam's two moving averages for one variable; `name` labels them in getWeights.
type Slot = { name: string; m: tf.Variable; v: tf.Variable };

/**
 * Adam exactly as keras.optimizers.Adam updates a dense variable (TF 2.12):
 *
 *   t = step + 1,  alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *   m += (g - m)(1 - beta1),  v += (g^2 - v)(1 - beta2),  w -= alpha * m / (sqrt(v) + epsilon)
 *
 * epsilon is Kingma & Ba's "epsilon hat" (Keras's convention); tf.train.adam adds it to the
 * bias-corrected sqrt(v) instead. The bias corrections are recomputed from t every step, so the
 * state is exactly (t, m, v): saving and restoring it resumes bit for bit.
 */
export class KerasAdam extends tf.Optimizer {
  static readonly className = 'KerasAdam';
  private slots: Slot[] = [];

  constructor(
    readonly learningRate = 0.001,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-7,
  ) {
    super();
  }

  /** One update of every variable named in `gradients` (by position: keep the variable order fixed). */
  override applyGradients(gradients: tf.NamedTensorMap | NamedTensor[]): void {
    const list = Array.isArray(gradients) ? gradients : Object.entries(gradients).map(([name, tensor]) => ({ name, tensor }));
    const t = this.iterations + 1;
    const alpha = (this.learningRate * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    tf.tidy(() => {
      list.forEach(({ name, tensor: g }, i) => {
        const variable = tf.engine().registeredVariables[name];
        if (!variable) throw new Error(`KerasAdam: no variable named ${name}`);
        const { m, v } = this.slotFor(i, variable);
        if (g == null) return;
        m.assign(m.add(g.sub(m).mul(1 - this.beta1)));
        v.assign(
          v.add(
            g
              .square()
              .sub(v)
              .mul(1 - this.beta2),
          ),
        );
        variable.assign(variable.sub(m.mul(alpha).div(v.sqrt().add(this.epsilon))));
      });
    });
    this.incrementIterations();
  }

  private slotFor(i: number, variable: tf.Variable): Slot {
    // Unnamed variables: two optimizers of the same model must not collide in tfjs's variable registry.
    this.slots[i] ??= { name: variable.name, m: tf.zerosLike(variable).variable(false), v: tf.zerosLike(variable).variable(false) };
    const slot = this.slots[i];
    if (!tf.util.arraysEqual(slot.m.shape, variable.shape)) {
      throw new Error(
        `KerasAdam: state #${i} has shape [${slot.m.shape}] but variable ${variable.name} is [${variable.shape}] (restored into another model?)`,
      );
    }
    return slot;
  }

  /** [step, m_0..m_n, v_0..v_n], the layout tf.train.adam uses too. */
  override async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...this.slots.map((s) => ({ name: `${s.name}/m`, tensor: s.m })),
      ...this.slots.map((s) => ({ name: `${s.name}/v`, tensor: s.v })),
    ];
  }

  /** Restores what getWeights returned (copies the tensors). */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weights);
    if (rest.length % 2 !== 0) throw new Error(`KerasAdam: expected pairs of m and v, got ${rest.length} tensors`);
    const n = rest.length / 2;
    this.disposeSlots();
    this.slots = rest.slice(0, n).map((m, i) => ({
      name: m.name.replace(/\/m$/, ''),
      m: m.tensor.clone().variable(false),
      v: rest[n + i].tensor.clone().variable(false),
    }));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

  override dispose(): void {
    this.disposeSlots();
    super.dispose();
  }

  private disposeSlots(): void {
    for (const s of this.slots) tf.dispose([s.m, s.v]);
    this.slots = [];
  }
}

// ---------------------------------------------------------------------------
// The state on disk

/** Saves the optimizer state as optimizer.json (names, shapes) + optimizer.bin (the numbers). */
export async function saveOptimizer(optimizer: KerasAdam, dir: string): Promise<void> {
  const weights = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights);
  weights[0].tensor.dispose(); // the step count is a fresh scalar (the rest are the live m and v)
  await writeAndSync(path.join(dir, 'optimizer.bin'), new Uint8Array(data));
  const meta = { format: 'keras-adam-state', version: 1, config: optimizer.getConfig(), iterations: optimizer.iterations, specs };
  await writeAndSync(path.join(dir, 'optimizer.json'), JSON.stringify(meta, null, 1));
}

/** Restores what saveOptimizer wrote in `dir` into `optimizer`. */
export async function loadOptimizer(optimizer: KerasAdam, dir: string): Promise<void> {
  const meta = JSON.parse(await fsp.readFile(path.join(dir, 'optimizer.json'), 'utf8')) as {
    specs: Parameters<typeof tf.io.decodeWeights>[1];
  };
  const bytes = await fsp.readFile(path.join(dir, 'optimizer.bin'));
  const tensors = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), meta.specs);
  const weights = meta.specs.map((s) => ({ name: s.name, tensor: tensors[s.name] }));
  await optimizer.setWeights(weights);
  tf.dispose(Object.values(tensors));
}
