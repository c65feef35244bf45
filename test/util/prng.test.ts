// Seeded randomness (lib/util/prng.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSeed, mulberry32, shuffledIndices } from '../../lib/util/prng';

test('mulberry32 and shuffledIndices are deterministic permutations', () => {
  assert.deepEqual(Array.from({ length: 3 }, mulberry32(113)), Array.from({ length: 3 }, mulberry32(113)));
  assert.notDeepEqual(Array.from({ length: 3 }, mulberry32(113)), Array.from({ length: 3 }, mulberry32(114)));
  const a = shuffledIndices(1000, mulberry32(113));
  assert.deepEqual(a, shuffledIndices(1000, mulberry32(113)));
  assert.notDeepEqual(a, shuffledIndices(1000, mulberry32(7)));
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  for (const r of Array.from({ length: 1000 }, mulberry32(1))) assert.ok(r >= 0 && r < 1);
});

test('deriveSeed: one base seed, independent named streams, each a positive int32', () => {
  const seeds = [
    deriveSeed(42, 'init', 'rnn/kernel'),
    deriveSeed(42, 'init', 'rnn/recurrent_kernel'),
    deriveSeed(42, 'shuffle', 1),
    deriveSeed(42, 'shuffle', 2),
    deriveSeed(43, 'shuffle', 1),
  ];
  assert.equal(new Set(seeds).size, seeds.length);
  for (const s of seeds) assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 31, String(s));
  assert.equal(deriveSeed(42, 'dropout'), deriveSeed(42, 'dropout'));
});
