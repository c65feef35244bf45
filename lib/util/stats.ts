/** The summaries the course's measurements use (the mean of values, the median of timings) and the rounding of its tables. */

/** The arithmetic mean of a list (NaN when it is empty). */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** The median of a non-empty list (the mean of the middle two for an even count): robust to a few slow rounds. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `value` rounded to `digits` decimals, as Math.round at that scale (halves round up): the numbers of tables and SVG. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
