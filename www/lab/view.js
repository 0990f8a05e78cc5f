// Views: one engine, a current model each. The `<vae-lab>` elements of one page share one engine
// (one Worker, one download of each file) while each shows its own model.
import { checkSlot } from './input.js';

/**
 * Adds `lab.view(slot)`: a view of this engine with a current model of its own. Every method is
 * the engine's, and those that default to the current model default to the view's. 'current'
 * events are the view's own; every other event is the engine's.
 */
export function addView(core) {
  const { lab, events } = core;
  lab.view = (slot = null) => {
    const v = Object.create(lab);
    const own = new EventTarget();
    /** Listeners added through this view: `close()` removes them all. */
    const listeners = [];
    v.current = slot;
    const cur = (s) => {
      const x = s ?? v.current;
      if (!x) throw new Error('no model loaded: call loadPretrained(arch) or importWeights(bytes) first');
      return checkSlot(x);
    };
    const adopt = async (result, s) => {
      const r = await result;
      v.use(s);
      return r;
    };
    return Object.assign(v, {
      on(type, fn) {
        const target = type === 'current' ? own : events;
        const handler = (e) => fn(e.detail);
        target.addEventListener(type, handler);
        listeners.push([target, type, handler]);
        return v;
      },
      /** Remove every listener added through this view (an element that remounts its panel drops
       *  the old panel's this way). The engine and its models stay. */
      close() {
        for (const [target, type, handler] of listeners.splice(0)) target.removeEventListener(type, handler);
      },
      /** Listeners this view holds (a hook for tests). */
      _listenerCount: () => listeners.length,
      use(s) {
        v.current = s === null ? null : checkSlot(s);
        own.dispatchEvent(new CustomEvent('current', { detail: { slot: s } }));
      },
      async loadPretrained(arch, o = {}) {
        await lab.ready; // the dataset held decides the slot ('C' or 'fashion-C')
        const slot = lab.shippedSlot(arch, o);
        return adopt(lab.loadPretrained(arch, o), slot);
      },
      importWeights: (bytes, s = 'imported') => adopt(lab.importWeights(bytes, s), s),
      exportWeights: async (s) => lab.exportWeights(cur(s)),
      info: async (s) => lab.info(cur(s)),
      encode: async (x, s) => lab.encode(x, cur(s)),
      reconstruct: async (x, o = {}) => lab.reconstruct(x, { ...o, slot: cur(o.slot) }),
      decode: async (z, s) => lab.decode(z, cur(s)),
      sample: async (n, seed, s) => lab.sample(n, seed, cur(s)),
      chain: async (n, steps, seed, o = {}) => lab.chain(n, steps, seed, { ...o, slot: cur(o.slot) }),
      collapse: async (s) => lab.collapse(cur(s)),
      inside: async (x, o = {}) => lab.inside(x, { ...o, slot: cur(o.slot) }),
      latentMap: async (s) => lab.latentMap(cur(s)),
      latentPlane: async (s) => lab.latentPlane(cur(s)),
      evaluate: async (o = {}) => lab.evaluate(typeof o === 'string' ? o : { ...o, slot: cur(o?.slot) }),
      async removeSlot(s) {
        await lab.removeSlot(s);
        if (v.current === s) v.use((await lab.slots())[0] ?? null);
      },
      train(options) {
        const handle = lab.train(options);
        handle.started.then(
          (s) => v.use(s),
          () => {},
        );
        return handle;
      },
      resumeRun: (s, o) => adopt(lab.resumeRun(s, o), s),
      view: (s = v.current) => lab.view(s),
    });
  };
}
