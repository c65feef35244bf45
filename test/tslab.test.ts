// tslab compiles the lib modules a notebook imports with its own TypeScript settings (non-strict
// TypeScript 5.0), not tsconfig.json: this checks every module the way a cell imports it. In its own
// file so that it runs with the unit tests, without executing the notebooks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

test("every lib module compiles under tslab's own compiler (non-strict TypeScript 5.0), as notebooks import it", () => {
  // tslab type-checks imported files with its own settings, which differ from tsconfig.json: a file
  // that passes `tsc` can still fail in a notebook. Compile an import of every module the way a cell does.
  const { createConverter } = require('tslab/dist/converter') as {
    createConverter: () => {
      convert: (prev: string, src: string) => { diagnostics: { messageText: string; line?: number }[] };
      close: () => void;
    };
  };
  const modules = fs
    .readdirSync(path.join(ROOT, 'lib'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  const cwd = process.cwd();
  process.chdir(ROOT); // tslab resolves ./lib from its working directory, as the kernel does
  try {
    const converter = createConverter();
    const source = modules.map((m, i) => `import * as m${i} from "./lib/${m}";`).join('\n');
    const { diagnostics } = converter.convert('', source);
    converter.close();
    assert.deepEqual(
      diagnostics.map((d) => d.messageText),
      [],
      `modules: ${modules.join(', ')}`,
    );
  } finally {
    process.chdir(cwd);
  }
});
