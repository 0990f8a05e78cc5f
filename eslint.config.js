// ESLint (flat config) for the page (www/), the tools and the tests: `make lint` runs it.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['www/vendor/**', 'www/data/**', 'pkg/**', 'dist/**', 'target/**', 'fuzz/**', 'test-results/**', 'node_modules/**'] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    rules: {
      // `catch {}` and `() => {}` say "nothing to do" on purpose here
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      // errors are rewritten into plain messages for the visitor on purpose (the cause is said in words)
      'preserve-caught-error': 'off',
    },
  },
  { files: ['www/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  { files: ['www/worker.js', 'www/picture-worker.js'], languageOptions: { globals: { ...globals.worker } } },
  { files: ['www/sw.js'], languageOptions: { globals: { ...globals.serviceworker } } },
  // the tests hand functions to the browser (page.evaluate), which use its globals
  { files: ['tools/**/*.mjs', 'tests/**/*.mjs', '*.js'], languageOptions: { globals: { ...globals.node, ...globals.browser } } },
  // the browser suite is frozen while the code around it changes (issue 19); one spec's counter is
  // reset before use
  { files: ['tests/e2e/**/*.mjs'], rules: { 'no-useless-assignment': 'off' } },
];
