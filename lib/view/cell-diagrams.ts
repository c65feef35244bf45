/**
 * The course's cell diagrams: the GRU cell built up in three steps (the gates; the candidate, with the
 * reset gate placed as in reset-after or reset-before; the new state), and the simple RNN, GRU and LSTM
 * cells side by side. Drawn as self-contained SVG (no fonts, scripts or links from outside), on a light
 * panel of its own so that it reads the same in light and dark themes, with a <title> and <desc> as
 * its text alternative.
 *
 * One idea, the course's pictures of the cell, and longer than the other modules for a reason: each picture is
 * a function of explicit coordinates (a box, a wire, a label per line), which reads best whole; the drawing
 * primitives live in lib/view/svg-canvas.ts.
 *
 * The notation is notebook 02's, in Keras's convention (examples are rows, gate blocks z | r | h):
 *   z_t = σ(x_t W_z + h_{t-1} U_z + b_z)        b_z = b^in_z + b^rec_z (the two bias rows added)
 *   r_t = σ(x_t W_r + h_{t-1} U_r + b_r)
 *   h̃_t = tanh(x_t W_h + b^in_h + r_t ⊙ (h_{t-1} U_h + b^rec_h))   reset-after (Keras's default)
 *   h̃_t = tanh(x_t W_h + (r_t ⊙ h_{t-1}) U_h + b_h)               reset-before (tf.layers.gru)
 *   h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t
 */
import { showMimeBundle } from './display';
import { DIAGRAM_CLASS, type Diagram } from './svg-canvas';
export { DIAGRAM_CLASS, type Diagram } from './svg-canvas';
import { COLOURS, Canvas, FILLS, INK, MUTED, MUTED_FILL, PANEL_EDGE, escapeXml, type Colour, type Tone } from './svg-canvas';

/** Where the reset gate acts in the candidate (notebook 02, "Reset-after versus reset-before"). */
export type ResetPlacement = 'after' | 'before';

/** The display bundle of a diagram: the SVG, an html <img> of it that survives JupyterLab's sanitizer, and its text. */
export type DiagramBundle = {
  'image/svg+xml': string;
  'text/html': string;
  'text/plain': string;
};

// ---- the GRU cell, built up in three steps ----

const STEP_TITLES = { 1: 'the two gates', 2: 'the candidate, with the reset gate applied', 3: 'the new state' } as const;

function stepSubtitle(step: 1 | 2 | 3, reset: ResetPlacement): string {
  if (step === 1)
    return '$z_t = σ(x_t W_z + h_{t-1} U_z + b_z)$,  $r_t = σ(x_t W_r + h_{t-1} U_r + b_r)$;  $b_z$, $b_r$: the two bias rows added';
  if (step === 2) {
    return reset === 'after'
      ? "Reset-after (Keras's default): $r_t$ multiplies $h_{t-1}U_h + b^{rec}_h$, after the product with $U_h$"
      : 'Reset-before (tf.layers.gru): $r_t$ multiplies $h_{t-1}$, before the product with $U_h$';
  }
  return '$h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ \\tilde h_t$: keep $z_t$ of the old state, write $1 - z_t$ of the candidate';
}

/** The GRU cell at step 1 (the gates), 2 (the candidate) or 3 (the new state), earlier steps' parts in grey; `reset` places r_t. */
export function gruCellDiagram(step: 1 | 2 | 3, reset: ResetPlacement = 'after'): Diagram {
  if (step !== 1 && step !== 2 && step !== 3) throw new Error(`cell-diagrams: step must be 1, 2 or 3, got ${String(step)}`);
  if (reset !== 'after' && reset !== 'before') throw new Error(`cell-diagrams: reset must be 'after' or 'before', got ${String(reset)}`);
  const name = `gru-step-${step}-reset-${reset}`;
  const c = new Canvas(name);
  const width = 800;
  const height = 500;
  const tone = (introduced: number): Tone => (introduced === step ? 'new' : 'old');
  const ink = (introduced: number, colour: Colour): string => (introduced === step ? COLOURS[colour] : MUTED);

  // rows and columns
  const yState = 104; // h_{t-1} -> h_t along the top (step 3)
  const yMix = 166; // 1 − z_t and the write ⊙
  const yGate = 258; // the three layer boxes
  const yReset = 334; // where r_t meets the recurrent path of the candidate
  const yH = 382; // the bus carrying h_{t-1} to the boxes
  const yX = 418; // the bus carrying x_t
  const xIn = 96; // h_{t-1} turns down here
  const xZ = 240;
  const xR = 380;
  const xCand = 640;
  const xAfterBox = 470; // reset-after: h_{t-1} U_h + b^rec_h
  const xResetOp = 560;
  const xOneMinus = 520;
  const boxW = 104;
  const boxH = 52;
  const boxTop = yGate - boxH / 2;
  const boxBottom = yGate + boxH / 2;

  const title = `The GRU cell, step ${step} of 3: ${STEP_TITLES[step]}`;
  c.text(22, 30, title, { size: 15, weight: 'bold' });
  c.text(22, 56, stepSubtitle(step, reset), { size: 13 });

  // inputs: h_{t-1} from the left, x_t from the bottom left; buses to the boxes
  const hBusEnd = step >= 2 ? (reset === 'after' ? xAfterBox : xResetOp) : xR - 12;
  const xBusEnd = step >= 2 ? xCand + 14 : xR + 14;
  c.label(26, yState + 6, 'h_{t-1}', { size: 17 });
  c.wire(
    [
      [80, yState],
      [xIn, yState],
      [xIn, yH],
      [xR - 12, yH],
    ],
    'ink',
    tone(1),
    { arrow: false },
  );
  if (step === 3) c.dot(xIn, yState, 'ink', 'new'); // h_{t-1} splits: down to the boxes, along the top to h_t
  c.label(26, yX + 6, 'x_t', { size: 17 });
  c.wire(
    [
      [56, yX],
      [xR + 14, yX],
    ],
    'ink',
    tone(1),
    { arrow: false },
  );
  if (step >= 2) {
    c.wire(
      [
        [xR - 12, yH],
        [hBusEnd, yH],
      ],
      'ink',
      tone(2),
      { arrow: false },
    );
    c.wire(
      [
        [xR + 14, yX],
        [xBusEnd, yX],
      ],
      'ink',
      tone(2),
      { arrow: false },
    );
  }

  // step 1: the gates, each reading x_t and h_{t-1}
  for (const [cx, gate, colour] of [
    [xZ, 'z', 'keep'],
    [xR, 'r', 'reset'],
  ] as const) {
    const last = step === 1 && gate === 'r'; // the buses end here in step 1: a corner, not a split
    if (!last) c.dot(cx - 12, yH, 'ink', tone(1));
    c.wire(
      [
        [cx - 12, yH],
        [cx - 12, boxBottom],
      ],
      'ink',
      tone(1),
    );
    if (!last) c.dot(cx + 14, yX, 'ink', tone(1));
    c.wire(
      [
        [cx + 14, yX],
        [cx + 14, boxBottom],
      ],
      'ink',
      tone(1),
      { bridge: true },
    );
    c.box(cx, yGate, boxW, boxH, 'σ', `W_${gate}, U_${gate}, b_${gate}`, colour, tone(1));
  }
  c.text(xZ, boxTop - 8, 'update gate', { size: 12, anchor: 'middle', colour: ink(1, 'keep') });
  c.text(xR, boxTop - 8, 'reset gate', { size: 12, anchor: 'middle', colour: ink(1, 'reset') });
  if (step < 3) {
    // z_t: a labelled stub until step 3 wires it up
    c.wire(
      [
        [xZ, boxTop - 20],
        [xZ, yMix - 16],
      ],
      'keep',
      tone(1),
    );
    c.label(xZ + 8, yMix - 12, 'z_t', { size: 17, colour: ink(1, 'keep') });
  }
  if (step === 1) {
    // r_t: a stub in step 1, wired to the candidate from step 2
    c.wire(
      [
        [xR + boxW / 2, yGate],
        [xR + boxW / 2 + 60, yGate],
      ],
      'reset',
      'new',
    );
    c.label(xR + boxW / 2 + 66, yGate + 6, 'r_t', { size: 17, colour: COLOURS.reset });
  }

  // step 2: the candidate, and where r_t acts in it
  if (step >= 2) {
    const t2 = tone(2);
    c.wire(
      [
        [xR + boxW / 2, yGate],
        [xResetOp, yGate],
        [xResetOp, yReset - 11],
      ],
      'reset',
      t2,
    );
    c.label(xR + boxW / 2 + 10, yGate - 8, 'r_t', { size: 17, colour: ink(2, 'reset') });
    if (reset === 'after') {
      // h_{t-1} -> [h_{t-1} U_h + b^rec_h] -> ⊙ r_t -> tanh box (adds x_t W_h + b^in_h)
      c.wire(
        [
          [xAfterBox, yH],
          [xAfterBox, yReset + 17],
        ],
        'ink',
        t2,
      );
      c.box(xAfterBox, yReset, 130, 34, '', 'h_{t-1}U_h + b^{rec}_h', 'write', t2);
      c.wire(
        [
          [xAfterBox + 65, yReset],
          [xResetOp - 11, yReset],
        ],
        'write',
        t2,
      );
    } else {
      // h_{t-1} -> ⊙ r_t -> tanh box (multiplies by U_h, adds x_t W_h + b_h)
      c.wire(
        [
          [xResetOp, yH],
          [xResetOp, yReset + 11],
        ],
        'ink',
        t2,
      );
    }
    c.op(xResetOp, yReset, '⊙', 'reset', t2);
    c.wire(
      [
        [xResetOp + 11, yReset],
        [xCand - 12, yReset],
        [xCand - 12, boxBottom],
      ],
      reset === 'after' ? 'write' : 'ink',
      t2,
    );
    c.wire(
      [
        [xCand + 14, yX],
        [xCand + 14, boxBottom],
      ],
      'ink',
      t2,
      { bridge: true },
    );
    c.box(xCand, yGate, boxW + 20, boxH, 'tanh', reset === 'after' ? 'W_h, b^{in}_h' : 'W_h, U_h, b_h', 'write', t2);
    c.text(xCand, boxTop - 8, 'candidate', { size: 12, anchor: 'middle', colour: ink(2, 'write') });
    if (step === 2) {
      c.wire(
        [
          [xCand, boxTop - 20],
          [xCand, yMix - 16],
        ],
        'write',
        'new',
      );
      c.label(xCand + 8, yMix - 12, '\\tilde h_t', { size: 17, colour: COLOURS.write });
    }
  }

  // step 3: h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t
  if (step === 3) {
    c.wire(
      [
        [80, yState],
        [xZ - 11, yState],
      ],
      'ink',
      'new',
      { arrow: false },
    );
    c.op(xZ, yState, '⊙', 'keep', 'new');
    c.wire(
      [
        [xZ + 11, yState],
        [xCand - 11, yState],
      ],
      'keep',
      'new',
      { arrow: false },
    );
    c.op(xCand, yState, '+', 'ink', 'new');
    c.wire(
      [
        [xCand + 11, yState],
        [width - 70, yState],
      ],
      'ink',
      'new',
    );
    c.label(width - 60, yState + 6, 'h_t', { size: 17 });
    c.text(xZ - 8, yState - 18, 'keep', { size: 12, colour: COLOURS.keep, anchor: 'end' });
    c.wire(
      [
        [xZ, boxTop - 20],
        [xZ, yState + 11],
      ],
      'keep',
      'new',
    );
    c.dot(xZ, yMix, 'keep', 'new');
    c.label(xZ + 8, yMix + 30, 'z_t', { size: 17, colour: COLOURS.keep });
    c.wire(
      [
        [xZ, yMix],
        [xOneMinus - 14, yMix],
      ],
      'keep',
      'new',
    );
    c.op(xOneMinus, yMix, '1−', 'write', 'new');
    c.wire(
      [
        [xOneMinus + 14, yMix],
        [xCand - 11, yMix],
      ],
      'write',
      'new',
    );
    c.label(xOneMinus + 22, yMix - 9, '1 - z_t', { size: 15, colour: COLOURS.write });
    c.wire(
      [
        [xCand, boxTop - 20],
        [xCand, yMix + 11],
      ],
      'write',
      'new',
    );
    c.label(xCand + 8, yMix + 30, '\\tilde h_t', { size: 17, colour: COLOURS.write });
    c.op(xCand, yMix, '⊙', 'write', 'new');
    c.text(xCand + 18, yMix + 5, 'write', { size: 12, colour: COLOURS.write });
    c.wire(
      [
        [xCand, yMix - 11],
        [xCand, yState + 11],
      ],
      'write',
      'new',
    );
  }

  legend(c, 22, height - 24, step === 1 ? ['box', 'split', 'bridge'] : ['box', 'op', 'grey'], step === 1 ? 'σ' : 'σ or tanh');
  const description = gruDescription(step, reset);
  return { name, title, description, width, height, svg: c.render({ name, title, description, width, height }) };
}

function gruDescription(step: 1 | 2 | 3, reset: ResetPlacement): string {
  const gates =
    'The input x_t (bottom left) and the previous state h_{t-1} (top left) both feed two boxes: the update gate z_t = σ(x_t W_z + h_{t-1} U_z + b_z) ' +
    'and the reset gate r_t = σ(x_t W_r + h_{t-1} U_r + b_r), where b_z and b_r are the two bias rows added.';
  const candidate =
    reset === 'after'
      ? "A third box computes the candidate h̃_t = tanh(x_t W_h + b^in_h + r_t ⊙ (h_{t-1} U_h + b^rec_h)): in reset-after, Keras's default, h_{t-1} first goes " +
        'through U_h and the recurrent bias, and r_t multiplies the result.'
      : 'A third box computes the candidate h̃_t = tanh(x_t W_h + (r_t ⊙ h_{t-1}) U_h + b_h): in reset-before, r_t multiplies h_{t-1} itself, before the product with U_h.';
  const state =
    'The new state h_t runs along the top: h_{t-1} is multiplied by z_t (what is kept), the candidate by 1 − z_t (what is written), ' +
    'and the two are added: h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t.';
  const parts = [gates, candidate, state].slice(0, step);
  const earlier = step > 1 ? ' Parts from the earlier steps are grey.' : '';
  return `Diagram, step ${step} of 3.${earlier} ${parts.join(' ')}`;
}

type LegendItem = 'box' | 'op' | 'split' | 'grey' | 'bridge';

function legend(c: Canvas, x: number, y: number, items: LegendItem[], fns: string): void {
  let at = x;
  for (const item of items) {
    if (item === 'box') {
      c.rect(at, y - 13, 28, 18, FILLS.ink, INK, { rx: 4 });
      c.text(at + 36, y + 1, `layer: $xW + hU$ + bias, then ${fns}`, { size: 12 });
      at += 300;
    } else if (item === 'op') {
      c.op(at + 11, y - 4, '⊙', 'ink', 'new');
      c.text(at + 28, y + 1, 'elementwise ⊙, +, 1 −', { size: 12 });
      at += 190;
    } else if (item === 'split') {
      c.dot(at + 8, y - 4, 'ink', 'new');
      c.text(at + 20, y + 1, 'copy to several places', { size: 12 });
      at += 180;
    } else if (item === 'bridge') {
      c.text(at, y + 1, 'a line with a gap passes under another', { size: 12 });
      at += 260;
    } else {
      c.rect(at, y - 13, 28, 18, MUTED_FILL, MUTED, { rx: 4 });
      c.text(at + 36, y + 1, 'from the earlier steps', { size: 12, colour: MUTED });
      at += 200;
    }
  }
}

// ---- simple RNN, GRU and LSTM side by side ----

/** The simple RNN, GRU and LSTM cells side by side: what the GRU keeps of the LSTM and what it drops. */
export function recurrentCellsDiagram(): Diagram {
  const name = 'rnn-gru-lstm';
  const c = new Canvas(name);
  const width = 960;
  const height = 520;
  const panelW = 300;
  const top = 48;
  const panelH = 330;
  const lefts = [15, 330, 645];
  const yTop = top + 80; // the state carried along the top (c_t for the LSTM)
  const yBox = top + 230;
  const yBus = top + 276; // x_t and h_{t-1} to every box
  const yXin = top + 304;
  const title = 'Three recurrent cells, one step each: simple RNN, GRU and LSTM';
  c.text(22, 30, title, { size: 15, weight: 'bold' });
  for (const [i, heading] of ['Simple RNN', 'GRU', 'LSTM'].entries()) {
    c.rect(lefts[i], top, panelW, panelH, '#ffffff', PANEL_EDGE);
    c.text(lefts[i] + panelW / 2, top + 26, heading, { size: 15, weight: 'bold', anchor: 'middle' });
  }
  const inputs = (L: number, hDrop: number | null, taps: number[]) => {
    // x_t enters from below; h_{t-1} drops from the top-left state line (RNN, GRU) or enters the bus from the left (LSTM)
    const last = taps[taps.length - 1];
    const busStart = hDrop ?? L + 14;
    c.wire(
      [
        [busStart, yBus],
        [last, yBus],
      ],
      'ink',
      'new',
      { arrow: false },
    );
    c.wire(
      [
        [L + 70, yXin + 12],
        [L + 70, yBus + 5],
      ],
      'ink',
      'new',
      { arrow: false },
    );
    c.dot(L + 70, yBus, 'ink', 'new');
    c.label(L + 46, yXin + 14, 'x_t', { size: 16 });
    for (const x of taps) {
      if (x !== last) c.dot(x, yBus, 'ink', 'new');
      c.wire(
        [
          [x, yBus],
          [x, yBox + 20],
        ],
        'ink',
        'new',
      );
    }
  };

  // Simple RNN: h_t = tanh(x_t W + h_{t-1} U + b)
  {
    const L = lefts[0];
    const cx = L + 150;
    c.label(L + 12, yTop - 10, 'h_{t-1}', { size: 16 });
    c.wire(
      [
        [L + 12, yTop],
        [L + 40, yTop],
        [L + 40, yBus],
      ],
      'ink',
      'new',
      { arrow: false },
    );
    inputs(L, L + 40, [cx]);
    c.box(cx, yBox, 92, 48, 'tanh', 'W, U, b', 'ink', 'new');
    c.wire(
      [
        [cx, yBox - 24],
        [cx, yTop],
        [L + 286, yTop],
      ],
      'ink',
      'new',
    );
    c.label(L + 256, yTop - 10, 'h_t', { size: 16 });
  }

  // GRU: one state; z_t keeps, 1 − z_t writes; r_t inside the candidate
  {
    const L = lefts[1];
    const xZ = L + 86;
    const xR = L + 156;
    const xC = L + 232;
    const yMid = top + 150;
    c.label(L + 12, yTop - 10, 'h_{t-1}', { size: 16 });
    c.wire(
      [
        [L + 12, yTop],
        [xZ - 11, yTop],
      ],
      'ink',
      'new',
      { arrow: false },
    );
    c.dot(L + 40, yTop, 'ink', 'new');
    c.wire(
      [
        [L + 40, yTop],
        [L + 40, yBus],
      ],
      'ink',
      'new',
      { arrow: false },
    );
    inputs(L, L + 40, [xZ, xR, xC]);
    c.op(xZ, yTop, '⊙', 'keep', 'new');
    c.wire(
      [
        [xZ + 11, yTop],
        [xC - 11, yTop],
      ],
      'keep',
      'new',
      { arrow: false },
    );
    c.op(xC, yTop, '+', 'ink', 'new');
    c.wire(
      [
        [xC + 11, yTop],
        [L + 288, yTop],
      ],
      'ink',
      'new',
    );
    c.label(L + 262, yTop - 10, 'h_t', { size: 16 });
    c.box(xZ, yBox, 48, 40, 'σ', '', 'keep', 'new');
    c.box(xR, yBox, 48, 40, 'σ', '', 'reset', 'new');
    c.box(xC, yBox, 60, 40, 'tanh', '', 'write', 'new');
    c.wire(
      [
        [xZ, yBox - 20],
        [xZ, yTop + 11],
      ],
      'keep',
      'new',
    );
    c.label(xZ + 6, yBox - 34, 'z_t', { size: 15, colour: COLOURS.keep });
    c.dot(xZ, yMid, 'keep', 'new');
    c.wire(
      [
        [xZ, yMid],
        [xR - 14, yMid],
      ],
      'keep',
      'new',
    );
    c.op(xR, yMid, '1−', 'write', 'new');
    c.wire(
      [
        [xR + 14, yMid],
        [xC - 11, yMid],
      ],
      'write',
      'new',
    );
    c.op(xC, yMid, '⊙', 'write', 'new');
    c.wire(
      [
        [xC, yBox - 20],
        [xC, yMid + 11],
      ],
      'write',
      'new',
    );
    c.wire(
      [
        [xC, yMid - 11],
        [xC, yTop + 11],
      ],
      'write',
      'new',
    );
    c.label(xC + 6, yBox - 34, '\\tilde h_t', { size: 15, colour: COLOURS.write });
    c.wire(
      [
        [xR + 24, yBox],
        [xC - 30, yBox],
      ],
      'reset',
      'new',
    );
    c.label(xR + 27, yBox + 20, 'r_t', { size: 15, colour: COLOURS.reset });
  }

  // LSTM: cell state c_t along the top; f_t keeps, i_t writes, o_t shows tanh(c_t) as h_t
  {
    const L = lefts[2];
    const xF = L + 56;
    const xI = L + 110;
    const xG = L + 164;
    const xO = L + 218;
    const xOut = L + 262;
    const yMid = top + 150;
    const yOut = top + 182;
    c.label(L + 10, yTop - 10, 'c_{t-1}', { size: 16, colour: COLOURS.cell });
    c.wire(
      [
        [L + 10, yTop],
        [xF - 11, yTop],
      ],
      'cell',
      'new',
      { arrow: false, width: 3 },
    );
    c.op(xF, yTop, '⊙', 'keep', 'new');
    c.wire(
      [
        [xF + 11, yTop],
        [xG - 11, yTop],
      ],
      'cell',
      'new',
      { arrow: false, width: 3 },
    );
    c.op(xG, yTop, '+', 'cell', 'new');
    c.wire(
      [
        [xG + 11, yTop],
        [L + 290, yTop],
      ],
      'cell',
      'new',
      { width: 3 },
    );
    c.label(L + 270, yTop - 10, 'c_t', { size: 16, colour: COLOURS.cell });
    c.text(L + 110, yTop - 30, 'cell state', { size: 12, anchor: 'middle', colour: COLOURS.cell });
    c.label(L + 8, yBus - 10, 'h_{t-1}', { size: 16 });
    inputs(L, null, [xF, xI, xG, xO]);
    c.box(xF, yBox, 44, 40, 'σ', '', 'keep', 'new');
    c.box(xI, yBox, 44, 40, 'σ', '', 'write', 'new');
    c.box(xG, yBox, 50, 40, 'tanh', '', 'write', 'new');
    c.box(xO, yBox, 44, 40, 'σ', '', 'output', 'new');
    c.wire(
      [
        [xF, yBox - 20],
        [xF, yTop + 11],
      ],
      'keep',
      'new',
    );
    c.label(xF + 5, yBox - 34, 'f_t', { size: 15, colour: COLOURS.keep });
    c.op(xG, yMid, '⊙', 'write', 'new');
    c.wire(
      [
        [xG, yBox - 20],
        [xG, yMid + 11],
      ],
      'write',
      'new',
    );
    c.wire(
      [
        [xI, yBox - 20],
        [xI, yMid],
        [xG - 11, yMid],
      ],
      'write',
      'new',
    );
    c.label(xI + 5, yBox - 34, 'i_t', { size: 15, colour: COLOURS.write });
    c.label(xG + 5, yBox - 34, '\\tilde c_t', { size: 15, colour: COLOURS.write });
    c.wire(
      [
        [xG, yMid - 11],
        [xG, yTop + 11],
      ],
      'write',
      'new',
    );
    // h_t = o_t ⊙ tanh(c_t)
    c.dot(xOut, yTop, 'cell', 'new');
    c.wire(
      [
        [xOut, yTop],
        [xOut, yMid - 28],
      ],
      'cell',
      'new',
    );
    c.box(xOut, yMid - 16, 40, 22, '', 'tanh', 'cell', 'new');
    c.wire(
      [
        [xOut, yMid - 5],
        [xOut, yOut - 11],
      ],
      'cell',
      'new',
    );
    c.op(xOut, yOut, '⊙', 'output', 'new');
    c.wire(
      [
        [xO, yBox - 20],
        [xO, yOut],
        [xOut - 11, yOut],
      ],
      'output',
      'new',
    );
    c.label(xO + 5, yBox - 34, 'o_t', { size: 15, colour: COLOURS.output });
    c.wire(
      [
        [xOut, yOut + 11],
        [xOut, yOut + 26],
        [L + 292, yOut + 26],
      ],
      'ink',
      'new',
    );
    c.label(xOut - 2, yOut + 48, 'h_t', { size: 16 });
  }

  const notes: [string, string, string][] = [
    ['No gate: every step rewrites', 'the whole state through $U$ and tanh.', INK],
    ['One state $h_t$, no cell state, no output gate;', '$z_t$ keeps (as $f_t$), $1 - z_t$ writes (as $i_t$).', INK],
    ['Two states $c_t$ and $h_t$, three gates:', '$f_t$ keeps, $i_t$ writes, $o_t$ shows tanh($c_t$).', INK],
  ];
  notes.forEach(([a, b], i) => {
    c.text(lefts[i] + panelW / 2, top + panelH + 22, a, { size: 12.5, anchor: 'middle' });
    c.text(lefts[i] + panelW / 2, top + panelH + 40, b, { size: 12.5, anchor: 'middle' });
  });
  c.text(
    22,
    height - 48,
    'Colours: blue keeps the old state ($z_t$, $f_t$); green writes new content ($1 - z_t$, $i_t$, the candidates);',
    { size: 12 },
  );
  c.text(
    22,
    height - 30,
    "purple is the GRU's reset gate $r_t$; orange the LSTM's output gate $o_t$; red its cell state $c_t$. Each box has its own $W$, $U$ and bias.",
    { size: 12 },
  );

  const description =
    'Diagram in three panels. Simple RNN: one box, h_t = tanh(x_t W + h_{t-1} U + b); no gates. ' +
    "GRU: one state h_t along the top, no cell state; the update gate z_t multiplies h_{t-1} (what is kept, the job of the LSTM's " +
    'forget gate) and 1 − z_t multiplies the tanh candidate h̃_t (what is written, the job of the input gate); the reset gate r_t feeds the candidate; ' +
    'there is no output gate: the whole state is the output. LSTM: a separate cell state c_t along the top, with the forget gate f_t ' +
    'multiplying c_{t-1}, the input gate i_t multiplying the tanh candidate c̃_t, and the output gate o_t multiplying tanh(c_t) to give h_t. ' +
    'Every box in every cell reads x_t and h_{t-1}.';
  return { name, title, description, width, height, svg: c.render({ name, title, description, width, height }) };
}

// ---- display ----

/** The display bundle: SVG, an html figure (an <img> of the SVG, so JupyterLab's sanitizer keeps it), and the text alternative. */
export function diagramBundle(d: Diagram): DiagramBundle {
  const src = `data:image/svg+xml;base64,${Buffer.from(d.svg, 'utf8').toString('base64')}`;
  const alt = `${d.title}. ${d.description}`;
  return {
    'image/svg+xml': d.svg,
    'text/html':
      `<figure style="margin:0.5em 0;"><img class="${DIAGRAM_CLASS}" data-diagram="${escapeXml(d.name)}" src="${src}"` +
      ` width="${d.width}" alt="${escapeXml(alt)}" style="max-width:100%;height:auto;"></figure>`,
    'text/plain': `[diagram] ${alt}`,
  };
}

/** Shows a diagram under the current notebook cell; outside a tslab kernel prints its text alternative. */
export function showDiagram(d: Diagram): void {
  showMimeBundle(diagramBundle(d));
}
