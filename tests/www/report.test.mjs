// The report page's verdicts (www/report/measure.js) come from the numbers: the same claim holds,
// holds in part or fails as the measured models change; and the chains' spread measures sameness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCHS, extremes, spread, verdicts } from '../../www/report/measure.js';

/** Five measured models, each with `over` fields replaced. */
function models(over = {}) {
  const base = {
    A: { nelbo: -277, kl: 32, active: 12, end: 0.25, start: 0.3 },
    B: { nelbo: -355, kl: 34, active: 12, end: 0.16, start: 0.13 },
    C: { nelbo: -421, kl: 37, active: 12, end: 0.13, start: 0.13 },
    D: { nelbo: -406, kl: 35, active: 12, end: 0.16, start: 0.13 },
    E: { nelbo: -290, kl: 20, active: 7, end: 0.17, start: 0.13 },
  };
  const out = {};
  for (const a of ARCHS) {
    const m = { ...base[a], ...over[a] };
    out[a] = { held: { nelbo: m.nelbo }, train: { kl: m.kl }, active: m.active, latent: 12, chainEnd: m.end, chainStart: m.start };
  }
  return out;
}
const verdictOf = (ms, id) => verdicts(ms).find((v) => v.id === id).verdict;

test('C and D lowest: holds, partly when one is overtaken, not when both are', () => {
  assert.equal(verdictOf(models(), 'lowest-nelbo'), 'holds');
  assert.equal(verdictOf(models({ B: { nelbo: -410 } }), 'lowest-nelbo'), 'partly');
  assert.equal(verdictOf(models({ A: { nelbo: -500 }, B: { nelbo: -499 } }), 'lowest-nelbo'), 'does not hold');
});

test('collapse: a tie at zero is no evidence for B', () => {
  assert.equal(verdictOf(models(), 'collapse'), 'partly'); // E has 5 collapsed, B none (like A, C, D)
  assert.equal(verdictOf(models({ B: { active: 9 } }), 'collapse'), 'holds');
  assert.equal(verdictOf(models({ E: { active: 12 } }), 'collapse'), 'does not hold');
});

test("B's KL lowest, and A's chains the least spread", () => {
  assert.equal(verdictOf(models(), 'b-lowest-kl'), 'does not hold');
  assert.equal(verdictOf(models({ B: { kl: 10 } }), 'b-lowest-kl'), 'holds');
  assert.equal(verdictOf(models(), 'a-chains'), 'does not hold');
  assert.equal(verdictOf(models({ A: { end: 0.05 } }), 'a-chains'), 'holds');
  assert.equal(verdictOf(models({ A: { end: 0.12, start: 0.13 } }), 'a-chains'), 'partly'); // least, but hardly narrowed
});

test('extremes sorts and names the first k; no verdicts without all five models', () => {
  const r = extremes(models(), (m) => m.held.nelbo, 2, ['C', 'D']);
  assert.deepEqual(r.picked, ['C', 'D']);
  assert.deepEqual(verdicts({ A: models().A }), []);
});

test('spread: 0 for identical images, larger for different ones', () => {
  const same = new Float32Array(3 * 784).fill(0.5);
  assert.equal(spread(same, 3), 0);
  const diff = new Float32Array(2 * 784);
  diff.fill(1, 0, 784); // one white, one black: std 0.5 at every pixel
  assert.ok(Math.abs(spread(diff, 2) - 0.5) < 1e-9);
});
