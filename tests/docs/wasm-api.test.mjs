// docs/wasm-api.md is checked against the code: its method table must name exactly the methods
// that wasm-bindgen declares for `Lab` in pkg/vae_lab_cpu.d.ts and pkg/vae_lab_gpu.d.ts (built by
// `make wasm`), and both engines declare the same Lab.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

function declaredMethods(file) {
  const dts = fs.readFileSync(file, 'utf8');
  const body = /export class Lab \{([\s\S]*?)\n\}/.exec(dts)?.[1];
  assert.ok(body, `no class Lab in ${file}`);
  const declared = new Set([...body.matchAll(/^\s+(?:static\s+)?([a-zA-Z]\w*)\(/gm)].map((m) => m[1]));
  declared.delete('free');
  return declared;
}

test('the CPU and the WebGPU engine declare the same Lab', () => {
  assert.deepEqual([...declaredMethods('pkg/vae_lab_cpu.d.ts')].sort(), [...declaredMethods('pkg/vae_lab_gpu.d.ts')].sort());
});

test('docs/wasm-api.md documents every Lab method and no other', () => {
  const declared = declaredMethods('pkg/vae_lab_cpu.d.ts');
  const doc = fs.readFileSync('docs/wasm-api.md', 'utf8');
  const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
  const documented = new Set(rows.flatMap((l) => [...l.matchAll(/\b(?:lab|Lab)\.([a-zA-Z]\w*)\(/g)].map((m) => m[1])));
  documented.add('create'); // shown in the code block above the table
  assert.deepEqual([...declared].filter((m) => !documented.has(m)).sort(), [], 'undocumented methods');
  assert.deepEqual([...documented].filter((m) => !declared.has(m)).sort(), [], 'documented methods that do not exist');
});
