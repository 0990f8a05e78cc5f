// The lab's inference calls: each brings its input into shape and asks the engine.
import { PIXELS, floats } from './input.js';

/** Adds encode, reconstruct, decode, sample, chain, inside, collapse, latentMap, latentPlane, evaluate,
 *  testImages, testLabels and preprocess to the lab. */
export function addInference(core) {
  const { lab, slotOf } = core;
  const call = (...a) => core.transport.call(...a);

  /** q(z|x) of one or more images -> {mu, logvar}, each Float32Array(n * latent). */
  lab.encode = async (pixels, slot) => {
    const x = floats(pixels, 'encode');
    const out = await call('encode', { slot: slotOf(slot), pixels: x }, [x.buffer]);
    const half = out.length / 2;
    return { mu: out.slice(0, half), logvar: out.slice(half) };
  };

  /** Decoder mean of the encoder mean (or of a sampled z) -> Float32Array(n * 784). */
  lab.reconstruct = async (pixels, { sampled = false, seed = 0, slot } = {}) => {
    const x = floats(pixels, 'reconstruct');
    return call('reconstruct', { slot: slotOf(slot), pixels: x, sampled, seed }, [x.buffer]);
  };

  /** Decoder means of latent codes z (Float32Array(n * latent)). */
  lab.decode = async (z, slot) => {
    const v = floats(z, 'decode');
    return call('decode', { slot: slotOf(slot), z: v }, [v.buffer]);
  };

  /** n digits from z ~ N(0, I): an array of n Float32Array(784). */
  lab.sample = async (n = 60, seed = 0, slot) => {
    const flat = await call('sample', { slot: slotOf(slot), n, seed });
    return Array.from({ length: n }, (_, i) => flat.subarray(i * PIXELS, (i + 1) * PIXELS));
  };

  /**
   * n fixed-point chains of `steps` encode-sample-decode-sample iterations: an array of
   * steps + 1 frames, each Float32Array(n * 784). `start`: 784 floats (one digit for every
   * chain) or n * 784; default: z ~ N(0, I).
   */
  lab.chain = async (n = 60, steps = 100, seed = 0, { start, slot } = {}) => {
    const s = start ? floats(start, 'chain start') : new Float32Array();
    const flat = await call('chain', { slot: slotOf(slot), n, steps, seed, start: s });
    const size = n * PIXELS;
    return Array.from({ length: steps + 1 }, (_, i) => flat.subarray(i * size, (i + 1) * size));
  };

  /**
   * One image's path through the model (784 floats): {encoder: [activations per hidden layer],
   * mu, logvar, eps, z, decoder: [...], mean (784), sigma, rec, kl_per_latent, kl, nelbo}; eps is
   * drawn from `seed`. The Inside panel draws it.
   */
  lab.inside = async (pixels, { seed = 0, slot } = {}) => {
    const x = floats(pixels, 'inside');
    return call('inside', { slot: slotOf(slot), pixels: x, seed }, [x.buffer]);
  };
  lab.collapse = async (slot) => call('collapse', { slot: slotOf(slot) });
  /**
   * The plane of the held-out images' latent means, by PCA: {coords: Float32Array(n_test·2), mean,
   * axes: [two Float32Array(L)], explained: [share of the variance on each axis]}. The point (a, b)
   * of the plane is the latent z = mean + a·axes[0] + b·axes[1] (the Map decodes a click there).
   */
  lab.latentPlane = async (slot) => {
    const p = await call('latentMap', { slot: slotOf(slot) });
    const f = (a) => Float32Array.from(a);
    return { coords: f(p.coords), mean: f(p.mean), axes: p.axes.map(f), explained: p.explained };
  };
  lab.latentMap = async (slot) => (await lab.latentPlane(slot)).coords;
  /**
   * Held-out numbers of the current (or given) model: {n, nelbo, rec, kl, active_units}. With
   * `importanceSamples: K` also `log_likelihood`, an importance-sampled estimate of log p(x) in
   * nats per image (the IWAE bound; K = 1 is the ELBO). `evaluate('C')` names a slot.
   */
  lab.evaluate = async (opts = {}) => {
    const { slot, importanceSamples } = typeof opts === 'string' ? { slot: opts } : (opts ?? {});
    const k = importanceSamples === undefined ? {} : { importanceSamples: Number(importanceSamples) };
    return call('evaluate', { slot: slotOf(slot), ...k });
  };
  lab.testImages = async (indices) => call('testImages', { indices: Array.from(indices ?? []) });
  lab.testLabels = async () => call('testLabels');
  /** MNIST-style preprocessing of a drawing (ink in [0,1], row-major width x height) -> 784 floats. */
  lab.preprocess = async (gray, width, height) => {
    const g = floats(gray, 'preprocess');
    return call('preprocess', { gray: g, width, height }, [g.buffer]);
  };
}
