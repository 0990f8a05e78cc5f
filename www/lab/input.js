// What every call shares: the image size, and bringing a caller's values into the types the worker
// forwards. Values are checked once, by the engine (`src/wasm/boundary.rs`, caps in
// `src/limits.rs`); here they are only brought into shape.

/** Floats per image: 28 x 28, row-major. */
export const PIXELS = 784;

/** An error the caller made (kind 'input'). */
export const inputError = (E, message) => Object.assign(new E(message), { kind: 'input' });

/** A model slot's name must be a string (the engine checks its length). Thrown at once, so that
 *  `use(7)` fails where it is written. */
export function checkSlot(slot) {
  if (typeof slot !== 'string') throw inputError(TypeError, `a model slot is a name (a string), got ${typeof slot}`);
  return slot;
}

/** More floats than any call takes (the engine checks the exact caps): refused before copying, so
 *  that `encode({length: 1e9})` fails at once instead of after a minute of copying. */
const MAX_FLOATS = 1 << 24;
/** Pixels as a Float32Array (the engine checks length and range). */
export function floats(values, what) {
  if (!values || typeof values.length !== 'number') throw inputError(TypeError, `${what}: expected an array of floats`);
  if (!(values.length >= 0 && values.length <= MAX_FLOATS)) {
    throw inputError(RangeError, `${what}: ${values.length} values is more than any call takes (${MAX_FLOATS})`);
  }
  return Float32Array.from(values);
}

/** The shipped datasets (each has pretrained A–E); any other name is one of the visitor's own.
 *  The one list: the engine's worker (which fetches them), the API and the page all import it. */
export const SHIPPED_DATASETS = ['mnist', 'fashion'];
/** The backends a page may ask for: 'auto' lets the worker choose (it alone decides which runs),
 *  the others are the engines' own names. The one list, imported wherever a name is checked. */
export const BACKENDS = ['auto', 'webgpu', 'cpu'];
/** The slot a shipped model loads into: MNIST's keep their letter ('C'), another dataset's are
 *  prefixed with its name ('fashion-C'). */
export const shippedSlot = (arch, dataset = 'mnist') => (dataset === 'mnist' ? arch : `${dataset}-${arch}`);
