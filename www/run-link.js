// A link that carries a trained model (issue 22 item 3). Runs are seeded and the CPU engine's
// step is the same in every browser, so a run started fresh on a shipped dataset is its settings:
// Copy link puts them in the address (`run=`), and the page that opens it trains the same run on
// the CPU, to the same weights bit for bit. The engine writes those settings into a weights file
// it trains (`meta.recipe`) only when they make it again; a model they do not make (imported,
// warm-started, trained on WebGPU, stopped early, on one's own pictures) never goes into a link:
// Copy link says so and names the shipped model instead.

/** Why the model `info` (lab.info) cannot travel as a link, or null when it can; `shipped`: the
 *  shipped datasets ({name, description}). */
export function whyNotLinkable(info, shipped) {
  const meta = info.meta ?? {};
  const r = meta.recipe;
  if (!r) return 'it was imported, warm-started or trained on WebGPU, so its settings alone do not make it again';
  if (meta.epochs !== r.epochs) return `its run ended after ${meta.epochs ?? 0} of ${r.epochs} epochs`;
  if (!shipped.some((d) => d.description === meta.dataset)) return 'it was trained on pictures of your own, which a link cannot carry';
  return null;
}

/** The `run=` value for a linkable model: its settings, its dataset's name and its name. */
export function runParam(info, shipped) {
  const r = info.meta.recipe;
  const data = shipped.find((d) => d.description === info.meta.dataset).name;
  const { hidden, latent } = r.arch;
  return JSON.stringify({
    name: info.slot,
    data,
    hidden,
    latent,
    epochs: r.epochs,
    lr: r.lr,
    batch: r.batch,
    seed: r.seed,
    limit: r.limit ?? null,
    beta: r.beta,
    klWarmup: r.kl_warmup,
    ...(r.arch.output === 'linear' ? { output: 'linear' } : {}),
  });
}

/**
 * What Copy link copies for the model in view: `href` as it is for a shipped model; for one of the
 * visitor's, `run=` with its settings (and the CPU engine) when they make it again, else the
 * address without the model, and a button that saves it as a .vaelab file. Returns {link, note}:
 * the link and what to tell the visitor (text, or text and that button).
 */
export async function linkForCurrent(lab, href, app) {
  const url = new URL(href);
  const slot = lab.current;
  const same = { link: href, note: 'Link copied: it opens this panel with the same model, seed and settings.' };
  if (!slot || !url.searchParams.has('model')) return same;
  const [info, datasets] = await Promise.all([lab.info(slot), lab.datasets()]);
  const shipped = datasets.filter((d) => d.shipped);
  url.searchParams.delete('model');
  const why = whyNotLinkable(info, shipped);
  if (why) {
    url.searchParams.delete('run');
    return {
      link: url.href,
      note: [
        `Link copied without your model ${slot}: ${why}. The link opens the shipped model; to share ${slot}, send it as a file ` +
          '(its weights, history, dataset and this view), which VAE Lab opens by a drop or by ?bundle=. ',
        (await import('./bundle-ui.js')).saveButton({ lab, app }),
      ],
    };
  }
  url.searchParams.set('run', runParam(info, shipped));
  url.searchParams.set('backend', 'cpu');
  return {
    link: url.href,
    note:
      `Link copied: it trains ${slot} again in the receiver's browser (${info.meta.recipe.epochs} epochs on the CPU), ` +
      'to the same weights bit for bit.',
  };
}

/** The settings in a link's `run=` value, checked for shape (the engine checks every value). */
export function parseRun(raw) {
  let r;
  try {
    r = JSON.parse(raw);
  } catch {
    throw new Error('it is not the settings of a run');
  }
  const whole = (v) => Number.isInteger(v) && v >= 0;
  const ok =
    r &&
    typeof r === 'object' &&
    typeof r.data === 'string' &&
    Array.isArray(r.hidden) &&
    r.hidden.every(whole) &&
    whole(r.latent) &&
    whole(r.epochs) &&
    whole(r.batch) &&
    whole(r.seed) &&
    (r.limit === null || whole(r.limit)) &&
    Number.isFinite(r.lr) &&
    Number.isFinite(r.beta) &&
    whole(r.klWarmup) &&
    (r.output === undefined || r.output === 'linear');
  if (!ok) throw new Error('its settings are incomplete');
  return r;
}

/**
 * Open a link's run: hold its dataset, train it on the CPU with the Train panel in view (its
 * progress), then show it in the panel the link named. `panel`: that panel's id.
 */
export async function trainFromLink({ lab, app, raw, show, panel }) {
  app.setParam('run', null); // a reload mid-way resumes the run (unfinished runs), not a new one
  let r;
  try {
    r = parseRun(raw);
  } catch (e) {
    app.say(`The link's run could not be read (${e.message}): showing the shipped model.`, 'warn');
    return;
  }
  if (lab.backend !== 'cpu') {
    app.say(
      'The link carries a run for the CPU engine, and this page runs on WebGPU: the model it trains may differ in its last digits.',
      'warn',
    );
  }
  if (lab.data?.name !== r.data) await lab.useDataset(r.data);
  const images = r.limit === null ? `all ${lab.data.n_train}` : `the first ${r.limit}`;
  app.say(
    `This link carries a model: training it here, ${r.epochs} epochs on ${images} training images of ${lab.data.title} ` +
      `(seed ${r.seed}); the Train panel shows its progress.`,
  );
  await show('train');
  const handle = lab.train({
    hidden: r.hidden,
    latent: r.latent,
    epochs: r.epochs,
    lr: r.lr,
    batch: r.batch,
    seed: r.seed,
    limit: r.limit ?? undefined,
    beta: r.beta,
    klWarmup: r.klWarmup,
    output: r.output,
  });
  const last = await handle.done;
  if (last?.error) throw new Error(last.error);
  const slot = await handle.started;
  lab.use(slot);
  app.say(`${slot} is trained: the model the link carried (${r.name} in the sender's browser).`);
  await show(panel);
}
