// The Train panel's live series stay bounded (issue: long runs slowed the page as every chart
// update redrew the whole series).
import test from 'node:test';
import assert from 'node:assert/strict';
import { DecimatedSeries } from '../../www/series.js';

test('100,000 chunks keep at most 2 x max points, spread evenly over the whole run', () => {
  const s = new DecimatedSeries(500);
  let longest = 0;
  for (let i = 0; i < 100_000; i++) {
    s.push([i, Math.sin(i / 1000), i % 7 === 0 ? null : 1]);
    longest = Math.max(longest, s.points.length);
  }
  const pts = s.points;
  assert.ok(longest < 1000, `longest ${longest}`);
  assert.ok(pts.length >= 250, `only ${pts.length} points left`);
  assert.ok(pts[0][0] < 200 && pts.at(-1)[0] > 99_500, `span ${pts[0][0]}..${pts.at(-1)[0]}`);
  const gaps = pts.slice(1).map((p, i) => p[0] - pts[i][0]);
  assert.ok(
    gaps.every((g) => g > 0),
    'x ascends',
  );
  assert.ok(Math.max(...gaps) <= 2 * Math.min(...gaps) + 1, `uneven spacing: ${Math.min(...gaps)}..${Math.max(...gaps)}`);
  // merged values are means: a sine averaged over short windows stays within [-1, 1]
  assert.ok(pts.every((p) => p[1] >= -1 && p[1] <= 1 && p[2] === 1));
});

test('below the bound every point is kept as it came', () => {
  const s = new DecimatedSeries(100);
  for (let i = 0; i < 50; i++) s.push([i, i * 2, null]);
  assert.deepEqual(
    s.points,
    Array.from({ length: 50 }, (_, i) => [i, i * 2, null]),
  );
});
