// Reproducers of the hostile review (issue "Nothing is lost when storage says no"): storage.
import { assert, open } from '../helpers.mjs';

export default (cfg, { url, shot }) => [
];
