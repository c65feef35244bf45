// The library's architecture, enforced: lib/ is a stack of folders (layers), and a module imports only
// from its own layer or the layers below it. No import cycles, type-only imports included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const LIB = path.join(ROOT, 'lib');

/** The layers, lowest first: each may import from itself and from those before it. */
export const LAYERS = ['util', 'view', 'engine', 'cells', 'data', 'training', 'keras', 'experiments'] as const;

/** Every module of lib/, as a path relative to lib/ without '.ts'. */
function modules(): string[] {
  return fs
    .readdirSync(LIB, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, '').split(path.sep).join('/'))
    .sort();
}

/** The relative specifiers a module imports: static, type-only, re-exports, import() and require(). */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;
  for (const m of source.matchAll(re)) out.push(m[2]);
  return out;
}

/** module -> the lib modules it imports (resolved, relative to lib/). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const mod of modules()) {
    const source = fs.readFileSync(path.join(LIB, `${mod}.ts`), 'utf8');
    const deps = importSpecifiers(source).map((spec) => {
      const abs = path.resolve(path.dirname(path.join(LIB, mod)), spec);
      return path.relative(LIB, abs).split(path.sep).join('/').replace(/\.ts$/, '');
    });
    graph.set(mod, deps);
  }
  return graph;
}

const layerOf = (mod: string): string => mod.split('/')[0];

test('every module of lib/ lives in one of the layer folders (no module at the top of lib/)', () => {
  const misplaced = modules().filter((m) => !m.includes('/') || !(LAYERS as readonly string[]).includes(layerOf(m)));
  assert.deepEqual(misplaced, [], `each module belongs in one of lib/{${LAYERS.join(',')}}/`);
  for (const layer of LAYERS) assert.ok(fs.existsSync(path.join(LIB, layer)), `lib/${layer}/ exists`);
});

test('a module imports only from its own layer or the layers below it, and never from outside lib/', () => {
  const bad: string[] = [];
  for (const [mod, deps] of importGraph()) {
    const own = LAYERS.indexOf(layerOf(mod) as (typeof LAYERS)[number]);
    for (const dep of deps) {
      if (dep.startsWith('..')) bad.push(`${mod} -> ${dep} (outside lib/)`);
      else if (!fs.existsSync(path.join(LIB, `${dep}.ts`))) bad.push(`${mod} -> ${dep} (no such module)`);
      else if (LAYERS.indexOf(layerOf(dep) as (typeof LAYERS)[number]) > own) bad.push(`${mod} -> ${dep} (upwards)`);
    }
  }
  assert.deepEqual(bad, []);
});

/** The import cycles of a graph (Tarjan's strongly connected components of more than one module, or a self-import). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

test('the cycle finder finds a cycle through a type-only import, and none in a chain', () => {
  const deps = (src: string) => importSpecifiers(src).map((s) => s.replace('./', ''));
  const cyclic = new Map([
    ['a', deps("import type { B } from './b';")],
    ['b', deps("import { a } from './a';")],
    ['c', deps("export * from './a';")],
  ]);
  assert.deepEqual(importCycles(cyclic), [['a', 'b']]);
  const chain = new Map([
    ['a', deps("import { b } from './b';")],
    ['b', []],
  ]);
  assert.deepEqual(importCycles(chain), []);
});

test('lib/ has no import cycles, type-only imports included', () => {
  assert.deepEqual(importCycles(importGraph()), []);
});

test("the README's table of the layers lists the folders in the layers' order, lowest first", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `lib\/([a-z]+)\/` \|/gm)].map((m) => m[1]);
  assert.deepEqual(rows, [...LAYERS]);
});
