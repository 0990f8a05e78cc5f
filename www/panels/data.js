// Data: which images the models train on and the panels show. MNIST digits and Fashion-MNIST
// ship with pretrained A–E; a dataset of the visitor's own images is made here from dropped
// pictures (PNG, JPEG, or a zip of them) or drawings, kept in the browser with the models.
import { el, drawDigits, labelled } from '../ui.js';
import { SHIPPED_DATASETS } from '../lab/input.js';

const SHOWN = 60;

export default {
  id: 'data',
  create(app) {
    const { lab } = app;
    const choices = el('div', { class: 'row', id: 'data-choices', role: 'radiogroup', 'aria-label': 'Dataset' });
    const grid = el('canvas', { id: 'data-grid', class: 'grid', role: 'img', 'aria-label': 'images of the current dataset' });
    const caption = el('p', { class: 'muted', id: 'data-caption' });
    const name = el('input', {
      id: 'data-own-name',
      type: 'text',
      value: 'my-images',
      'aria-label': 'name of your dataset',
    });
    // a dataset's name is as long as a model slot's at most (the engine's cap; a linked one is cut to it)
    app.afterEngine(() => {
      name.maxLength = lab.constants.limits.maxSlotName;
      name.value = app.param('own') || 'my-images';
    });
    const files = el('input', {
      id: 'data-files',
      type: 'file',
      multiple: true,
      accept: 'image/png,image/jpeg,image/gif,image/webp,.zip,application/zip',
      hidden: true,
    });
    const drop = el(
      'div',
      {
        id: 'data-drop',
        class: 'drop',
        tabIndex: 0,
        role: 'button',
        'aria-label': 'Add pictures: drop PNG or JPEG files or a zip here, or press Enter to choose them',
      },
      el('strong', {}, 'Drop pictures here'),
      el('span', {}, ' (PNG, JPEG or a zip of them), or click to choose'),
    );
    const ownStatus = el('p', { class: 'muted', id: 'data-own-status', role: 'status' });
    const useOwn = el('button', { id: 'data-own-use', class: 'primary' }, 'Use this dataset');
    const addDrawn = el(
      'button',
      { id: 'data-own-add-drawn', title: 'Add the digit now on the Draw panel to this dataset' },
      'Add the drawing',
    );
    const removeOwn = el('button', { id: 'data-own-remove' }, 'Delete this dataset');
    // while many pictures are read: how far, and a way out
    const addingBar = el('progress', { id: 'data-adding-bar', max: 1, value: 0 });
    const addingText = el('span', { id: 'data-adding-text', class: 'muted' });
    const addingCancel = el('button', { id: 'data-adding-cancel' }, 'Cancel');
    const adding = el(
      'div',
      { class: 'progress-row', id: 'data-adding', hidden: true, role: 'status' },
      addingBar,
      ' ',
      addingText,
      ' ',
      addingCancel,
    );
    let addition = null; // {cancelled} while pictures are being added
    addingCancel.addEventListener('click', () => {
      if (addition) addition.cancelled = true;
    });
    let version = 0;

    const ownName = () => name.value.trim() || 'my-images';

    function renderChoices(list) {
      choices.replaceChildren(
        ...list.map((d) => {
          const on = lab.data?.name === d.name;
          return el(
            'button',
            {
              class: on ? 'tab-like on' : 'tab-like',
              role: 'radio',
              'aria-checked': String(on),
              'data-dataset': d.name,
              title: d.own ? `${d.n} images of your own` : `${d.n_train} training and ${d.n_test} held-out images, pretrained A–E`,
              onclick: () => choose(d.name),
            },
            d.own ? `${d.title} (yours, ${d.n})` : d.title,
          );
        }),
      );
    }

    async function renderGrid() {
      const v = ++version;
      const d = lab.data;
      if (!d) return;
      // a shipped dataset: its first held-out images; your own: the latest you added
      let x;
      let n;
      let which;
      if (d.own) {
        const mine = await lab.datasetImages(d.name);
        n = Math.min(SHOWN, mine.n);
        x = mine.pixels.subarray((mine.n - n) * 784);
        which = `the latest ${n} you added`;
      } else {
        n = Math.min(SHOWN, d.n_test);
        x = n > 0 ? await lab.testImages(Array.from({ length: n }, (_, i) => i)) : new Float32Array();
        which = `the first ${n} held-out ones`;
      }
      if (v !== version) return; // a newer choice is on its way
      // always ten columns: a few images stay image-sized instead of filling the width
      const cells = Math.max(10, n);
      const padded = new Float32Array(cells * 784);
      padded.set(x);
      drawDigits(grid, padded, cells, 10);
      grid.dataset.dataset = d.name;
      const classes = d.classes?.length ? ` Classes: ${d.classes.join(', ')}.` : '';
      caption.textContent = `${d.title}: ${d.n_train} training and ${d.n_test} held-out images; ${which}.${classes}`;
    }

    function renderOwn(list) {
      const mine = list.find((d) => d.own && d.name === ownName());
      ownStatus.textContent = mine
        ? `'${mine.name}' holds ${mine.n} image${mine.n === 1 ? '' : 's'} (kept in this browser).`
        : `'${ownName()}' is empty: add pictures or drawings.`;
      ownStatus.dataset.n = String(mine?.n ?? 0);
      useOwn.disabled = !mine || mine.n < 2;
      removeOwn.disabled = !mine;
    }

    /** Hold another dataset; a shipped model in view becomes the same model of the new dataset. */
    async function choose(dataset) {
      await app.guard(async () => {
        const arch = lab.presets.find((p) => SHIPPED_DATASETS.some((d) => lab.shippedSlot(p.name, { dataset: d }) === lab.current))?.name;
        const info = await lab.useDataset(dataset);
        app.setParam('data', info.name === 'mnist' ? null : info.name);
        if (arch && !info.own) await lab.loadPretrained(arch);
        app.say(
          info.own
            ? `Now on your images '${info.name}': train a model on them in the Train panel.`
            : `Now on ${info.title}${arch ? `, with its pretrained model ${arch}` : ''}.`,
        );
      });
    }

    const plural = (n, word) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

    async function addPictures(list) {
      if (addition) {
        app.say('Pictures are still being added: wait for them, or Cancel.', 'warn');
        return;
      }
      const run = { cancelled: false };
      addition = run;
      try {
        await app.guard(() => addPicturesNow(list, run));
      } finally {
        addition = null;
        adding.hidden = true;
        drop.removeAttribute('aria-busy');
      }
    }

    async function addPicturesNow(list, run) {
      // the decoders (and the zip reader) load with the first pictures
      const { imageFiles, pictureToInk } = await import('../images.js');
      const dataset = ownName();
      const max = lab.constants.limits.maxImagesPerCall;
      // a dataset holds at most one call's worth of images: look only at what still fits
      const have = (await lab.datasets()).find((d) => d.own && d.name === dataset)?.n ?? 0;
      const room = Math.max(0, max - have);
      if (room === 0) {
        throw new Error(
          `'${dataset}' is full: it holds ${have.toLocaleString('en')} images, the most a dataset may ` +
            `hold (${max.toLocaleString('en')}). Delete it, or give a new name to start another dataset.`,
        );
      }
      // zips are listed from their directory (caps checked there); nothing is decoded yet
      const found = await imageFiles(list, { limit: room });
      const { failed, pictures } = found;
      if (found.found > pictures.length) {
        app.say(
          `'${dataset}' has room for ${room.toLocaleString('en')} more of the ${plural(found.found, 'picture')} (at ` +
            `most ${max.toLocaleString('en')} images): the first ${pictures.length.toLocaleString('en')} are added.`,
          'warn',
        );
      }
      if (!pictures.length && !failed.length) throw new Error('No pictures found: drop PNG or JPEG files, or a zip of them.');
      const images = [];
      let blank = 0;
      const n = pictures.length;
      if (n > 1) {
        adding.hidden = false;
        drop.setAttribute('aria-busy', 'true');
      }
      for (let i = 0; i < n && !run.cancelled; i++) {
        const p = pictures[i];
        addingBar.value = i / n;
        addingText.textContent = `Reading picture ${(i + 1).toLocaleString('en')} of ${n.toLocaleString('en')}…`;
        try {
          // its size is checked from its header, then it is decoded in a worker
          const ink = await pictureToInk(await p.blob(), lab.constants.limits);
          if (ink.blank) blank++;
          else images.push(await lab.preprocess(ink.gray, ink.width, ink.height));
        } catch (e) {
          failed.push(`${p.name} (${e.message})`);
        }
      }
      adding.hidden = true;
      if (run.cancelled) {
        app.say(`Cancelled: nothing was added to '${dataset}'.`);
        return;
      }
      if (images.length) {
        const r = await lab.addImages(dataset, images);
        app.setParam('own', dataset);
        app.say(`Added ${plural(images.length, 'picture')} to '${r.name}' (${r.n.toLocaleString('en')} in all).`);
      }
      if (blank)
        app.say(
          `${plural(blank, 'blank picture')} (all white, all black or all transparent) ${blank === 1 ? 'was' : 'were'} skipped.`,
          'warn',
        );
      if (failed.length) {
        // one line per reason: 500 copies of a bomb are one reason and 500 names
        const reasons = new Map();
        for (const f of failed) {
          const [, who, why] = /^(.*?) \((.*)\)$/s.exec(f) ?? [f, f, ''];
          reasons.set(why, [...(reasons.get(why) ?? []), who]);
        }
        const lines = [...reasons]
          .slice(0, 4)
          .map(
            ([why, who]) => `${who.slice(0, 3).join(', ')}${who.length > 3 ? ` and ${who.length - 3} more` : ''}${why ? ` (${why})` : ''}`,
          );
        app.say(`${plural(failed.length, 'file')} could not be added: ${lines.join('; ')}${reasons.size > 4 ? '; …' : ''}`, 'warn');
      }
      drop.dataset.added = String(Number(drop.dataset.added ?? 0) + images.length);
      drop.dataset.skipped = String(Number(drop.dataset.skipped ?? 0) + blank);
      drop.dataset.failed = String(Number(drop.dataset.failed ?? 0) + failed.length);
    }

    files.addEventListener('change', () => {
      addPictures([...files.files]);
      files.value = '';
    });
    drop.addEventListener('click', () => files.click());
    drop.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        files.click();
      }
    });
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      addPictures([...(e.dataTransfer?.files ?? [])]);
    });
    addDrawn.addEventListener('click', () =>
      app.guard(async () => {
        if (!app.drawn) throw new Error('Draw something in the Draw panel first; then add it here.');
        const r = await lab.addImages(ownName(), [app.drawn]);
        app.setParam('own', ownName());
        app.say(`Added the drawing to '${r.name}' (${r.n} images). Draw the next one and add it too.`);
      }),
    );
    useOwn.addEventListener('click', () => choose(ownName()));
    removeOwn.addEventListener('click', () =>
      app.guard(async () => {
        if (!window.confirm(`Delete your dataset '${ownName()}' from this browser? Models trained on it stay.`)) return;
        await lab.removeDataset(ownName());
        app.say(`Deleted '${ownName()}'.`);
      }),
    );
    name.addEventListener('change', () => app.guard(async () => renderOwn(await lab.datasets())));

    const refresh = () => {
      if (!app.isVisible('data')) return;
      app.guard(async () => {
        const list = await lab.datasets();
        renderChoices(list);
        renderOwn(list);
        await renderGrid();
      });
    };
    lab.on('dataset', refresh);
    lab.on('datasets', refresh);

    const root = el(
      'div',
      {},
      choices,
      grid,
      caption,
      el('h3', {}, 'Your own images'),
      el(
        'p',
        { class: 'muted' },
        'Pictures become 28×28 grey images as a drawing does: ink bright on dark (a light background is inverted), ' +
          'cropped, scaled and centred. Every tenth is held out. They stay in this browser with your models.',
      ),
      el('div', { class: 'row' }, labelled('Dataset name', name), useOwn, addDrawn, removeOwn),
      drop,
      files,
      adding,
      ownStatus,
    );
    return { root, show: refresh, figure: () => ({ canvas: grid, name: `data-${lab.data?.name ?? 'mnist'}` }) };
  },
};
