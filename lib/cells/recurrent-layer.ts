/**
 * What the course's three recurrent layers (KerasGRU, lib/cells/gru.ts; KerasLSTM, lib/cells/lstm.ts; KerasSimpleRNN,
 * lib/cells/simple-rnn.ts) share as tfjs layers, with Keras's conventions:
 *
 *   weights   kernel W [inputDim, G*units], recurrent_kernel U [units, G*units], bias, with the G gate blocks side
 *             by side in Keras's order (GRU z|r|h, LSTM i|f|c|o, SimpleRNN one block), so weights move 1:1
 *             to and from Keras and tf.layers;
 *   init      glorot_uniform kernel, orthogonal recurrent kernel, zero bias unless given (lib/cells/initializers.ts has
 *             the seeded set the model uses); the initialisers are not part of getConfig: a saved layer's
 *             weights replace them;
 *   dropout   Keras 2's, per gate block, drawn once per training call (lib/engine/dropout.ts), seeded from `seed`;
 *   output    the last h_T [batch, units], or every h_t [batch, time, units] with returnSequences;
 *   state     starts at zeros unless `initialState` is given to call.
 *
 * A subclass names its layout (gate blocks, bias shape, carried states: lib/cells/layout.ts) and runs the
 * recurrence (on the native-graph engine, lib/engine/chunked-graphs.ts).
 */
import * as tf from '@tensorflow/tfjs-node';
import { NO_DROPOUT, clampRate, drawGateMasks, type GateMasks } from '../engine/dropout';
import type { Initializer } from './initializers';
import type { LayerWeights } from '../engine/chunked-graphs';
import { checkSequence, failCell, type CellLayout } from './layout';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Constructor arguments every course recurrent layer takes; defaults follow Keras. */
export interface KerasRecurrentArgs extends LayerArgs {
  units: number;
  dropout?: number; // fraction of x_t dropped, default 0
  recurrentDropout?: number; // fraction of h_{t-1} dropped, default 0
  returnSequences?: boolean; // default false: return only the last h
  seed?: number | null; // seed for the dropout masks
  kernelInitializer?: Initializer; // default glorot_uniform (unseeded); lib/cells/initializers.ts has the seeded set
  recurrentInitializer?: Initializer; // default orthogonal
  biasInitializer?: Initializer; // default zeros
}

/** Keyword arguments `call` understands (tfjs passes `training` during model.fit). */
export type RecurrentCallKwargs = {
  training?: boolean;
  initialState?: tf.Tensor | tf.Tensor[];
};

/** The base of KerasGRU, KerasLSTM and KerasSimpleRNN (see the module comment). */
export abstract class KerasRecurrentLayer extends tf.layers.Layer {
  readonly units: number;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly returnSequences: boolean;
  readonly seed: number | null;

  protected readonly kernelInitializer: Initializer;
  protected readonly recurrentInitializer: Initializer;
  protected readonly biasInitializer: Initializer;
  private kernel: tf.LayerVariable | null = null;
  private recurrentKernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  private maskDraws = 0; // advances the seed so every call draws fresh, yet reproducible, masks

  constructor(args: KerasRecurrentArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units <= 0) this.fail(`units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.dropout = clampRate(args.dropout);
    this.recurrentDropout = clampRate(args.recurrentDropout);
    this.returnSequences = args.returnSequences ?? false;
    this.seed = args.seed ?? null;
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.glorotUniform({});
    this.recurrentInitializer = args.recurrentInitializer ?? tf.initializers.orthogonal({});
    this.biasInitializer = args.biasInitializer ?? tf.initializers.zeros();
    this.inputSpec = [new tf.InputSpec({ ndim: 3 })];
  }

  /** The cell's gate blocks, bias shape and carried states (lib/cells/layout.ts). */
  protected abstract layout(): CellLayout;
  /** Throws the layer's error, prefixed with its cell (e.g. "gru: ..."). */
  protected fail(message: string): never {
    return failCell(this.layout(), message);
  }
  /** The bias's initialiser at build time (the LSTM's sets its forget block to 1). */
  protected initialBias(): Initializer {
    return this.biasInitializer;
  }
  /** The recurrence: every h_t or the last, from the initial states (one per state of the layout), with this call's masks. */
  protected abstract recur(x: tf.Tensor3D, weights: LayerWeights, initialStates: tf.Tensor2D[], masks: GateMasks): tf.Tensor;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputDim = shape[shape.length - 1];
    if (inputDim == null) this.fail(`the last input dimension must be known, got [${shape}]`);
    const layout = this.layout();
    const width = layout.gates * this.units;
    this.kernel = this.addWeight('kernel', [inputDim, width], 'float32', this.kernelInitializer);
    this.recurrentKernel = this.addWeight('recurrent_kernel', [this.units, width], 'float32', this.recurrentInitializer);
    this.bias = this.addWeight('bias', layout.biasShape(this.units), 'float32', this.initialBias());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, time] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return this.returnSequences ? [batch, time, this.units] : [batch, this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: RecurrentCallKwargs = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const weights = this.layerWeights();
      const layout = this.layout();
      const given =
        kwargs.initialState === undefined ? [] : Array.isArray(kwargs.initialState) ? kwargs.initialState : [kwargs.initialState];
      if (given.length > 0 && given.length !== layout.states) {
        this.fail(`initialState needs ${layout.states} tensor(s) [batch, units], got ${given.length}`);
      }
      checkSequence(layout, x, weights, given);
      const [batch, , inputDim] = x.shape;
      const initial =
        given.length > 0
          ? (given as tf.Tensor2D[])
          : Array.from({ length: layout.states }, () => tf.zeros([batch, this.units]) as tf.Tensor2D);
      const masks = kwargs.training === true ? this.drawMasks(batch, inputDim) : NO_DROPOUT;
      return this.recur(x, weights, initial, masks);
    });
  }

  /** The current weights in Keras's layout. */
  layerWeights(): LayerWeights {
    if (!this.kernel || !this.recurrentKernel || !this.bias) {
      return this.fail(`layer ${this.name} is not built yet: call it or build its model first`);
    }
    return {
      kernel: this.kernel.read() as tf.Tensor2D,
      recurrentKernel: this.recurrentKernel.read() as tf.Tensor2D,
      bias: this.bias.read(),
    };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      dropout: this.dropout,
      recurrentDropout: this.recurrentDropout,
      returnSequences: this.returnSequences,
      seed: this.seed,
    };
  }

  // Keras draws each mask once per sequence (i.e. per call), one per gate, only in training (lib/engine/dropout.ts).
  private drawMasks(batch: number, inputDim: number): GateMasks {
    return drawGateMasks(
      this.layout().gates,
      { input: [batch, inputDim], recurrent: [batch, this.units] },
      { dropout: this.dropout, recurrentDropout: this.recurrentDropout },
      () => (this.seed === null ? undefined : this.seed + this.maskDraws++),
    );
  }
}
