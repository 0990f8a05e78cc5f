// The page's own scripts, for the node tests that read www/ as text (facts, imports, docs).
import fs from 'node:fs';
import path from 'node:path';

export const WWW_ROOT = path.join(import.meta.dirname, '../../www');

/** Absolute paths of the page's own .js modules under `dir` (not the vendored libraries or the data). */
export function appScripts(dir = WWW_ROOT) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'vendor' || e.name === 'data' ? [] : appScripts(full);
    return e.name.endsWith('.js') ? [full] : [];
  });
}
