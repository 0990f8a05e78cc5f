// Data: which images the models train on and the panels show. MNIST digits and Fashion-MNIST
// ship with pretrained A–E; a dataset of the visitor's own images is made here from dropped
// pictures (PNG, JPEG, or a zip of them) or drawings, kept in the browser with the models.
import { el, drawDigits, labelled } from '../ui.js';
import { SHIPPED_DATASETS } from '../vaelab.js';

const SHOWN = 60;

export default {
  id: 'data',
  create(app) {
    const { lab } = app;
    const choices = el('div', { class: 'row', id: 'data-choices', role: 'radiogroup', 'aria-label': 'Dataset' });
    const grid = el('canvas', { id: 'data-grid', class: 'grid', role: 'img', 'aria-label': 'images of the current dataset' });
    const caption = el('p', { class: 'muted', id: 'data-caption' });
    const name = el('input', { id: 'data-own-name', type: 'text', maxLength: 64, value: app.param('own') || 'my-images', 'aria-label': 'name of your dataset' });
    const files = el('input', { id: 'data-files', type: 'file', multiple: true, accept: 'image/png,image/jpeg,image/gif,image/webp,.zip,application/zip', hidden: true });
    const drop = el('div', { id: 'data-drop', class: 'drop', tabIndex: 0, role: 'button',
      'aria-label': 'Add pictures: drop PNG or JPEG files or a zip here, or press Enter to choose them' },
    el('strong', {}, 'Drop pictures here'), el('span', {}, ' (PNG, JPEG or a zip of them), or click to choose'));
    const ownStatus = el('p', { class: 'muted', id: 'data-own-status', role: 'status' });
    const useOwn = el('button', { id: 'data-own-use', class: 'primary' }, 'Use this dataset');
    const addDrawn = el('button', { id: 'data-own-add-drawn', title: 'Add the digit now on the Draw panel to this dataset' }, 'Add the drawing');
    const removeOwn = el('button', { id: 'data-own-remove' }, 'Delete this dataset');
    let version = 0;

    const ownName = () => name.value.trim() || 'my-images';

    function renderChoices(list) {
      choices.replaceChildren(...list.map((d) => {
        const on = lab.data?.name === d.name;
        return el('button', { class: on ? 'tab-like on' : 'tab-like', role: 'radio', 'aria-checked': String(on), 'data-dataset': d.name,
          title: d.own ? `${d.n} images of your own` : `${d.n_train} training and ${d.n_test} held-out images, pretrained A–E`,
          onclick: () => choose(d.name) }, d.own ? `${d.title} (yours, ${d.n})` : d.title);
      }));
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
      ownStatus.textContent = mine ? `'${mine.name}' holds ${mine.n} image${mine.n === 1 ? '' : 's'} (kept in this browser).`
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
        app.say(info.own ? `Now on your images '${info.name}': train a model on them in the Train panel.`
          : `Now on ${info.title}${arch ? `, with its pretrained model ${arch}` : ''}.`);
      });
    }

    async function addPictures(list) {
      await app.guard(async () => {
        // the decoders (and the zip reader) load with the first pictures
        const { imageFiles, pictureToInk } = await import('../images.js');
        const found = await imageFiles(list);
        const failed = found.failed;
        // a dataset holds at most one call's worth of images: decode only what still fits
        const have = (await lab.datasets()).find((d) => d.own && d.name === ownName())?.n ?? 0;
        const room = lab.constants.limits.maxImagesPerCall - have;
        const pictures = found.pictures.slice(0, Math.max(0, room));
        if (found.pictures.length > pictures.length) {
          app.say(`'${ownName()}' has room for ${Math.max(0, room)} more of the ${found.pictures.length} pictures (at most ${lab.constants.limits.maxImagesPerCall} images): the first ${pictures.length} are added.`, 'warn');
        }
        if (!pictures.length && !failed.length) throw new Error('No pictures found: drop PNG or JPEG files, or a zip of them.');
        const images = [];
        for (const p of pictures) {
          try {
            const { gray, width, height } = await pictureToInk(p.blob);
            images.push(await lab.preprocess(gray, width, height));
          } catch (e) {
            failed.push(`${p.name} (${e.message})`);
          }
        }
        if (images.length) {
          const r = await lab.addImages(ownName(), images);
          app.setParam('own', ownName());
          app.say(`Added ${images.length} picture${images.length === 1 ? '' : 's'} to '${r.name}' (${r.n} in all).`);
        }
        if (failed.length) app.say(`${failed.length} file${failed.length === 1 ? '' : 's'} could not be read as a picture: ${failed.slice(0, 5).join('; ')}${failed.length > 5 ? '; …' : ''}`, 'warn');
        drop.dataset.added = String(Number(drop.dataset.added ?? 0) + images.length);
      });
    }

    files.addEventListener('change', () => { addPictures([...files.files]); files.value = ''; });
    drop.addEventListener('click', () => files.click());
    drop.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); files.click(); }
    });
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      addPictures([...(e.dataTransfer?.files ?? [])]);
    });
    addDrawn.addEventListener('click', () => app.guard(async () => {
      if (!app.drawn) throw new Error('Draw something in the Draw panel first; then add it here.');
      const r = await lab.addImages(ownName(), [app.drawn]);
      app.setParam('own', ownName());
      app.say(`Added the drawing to '${r.name}' (${r.n} images). Draw the next one and add it too.`);
    }));
    useOwn.addEventListener('click', () => choose(ownName()));
    removeOwn.addEventListener('click', () => app.guard(async () => {
      if (!window.confirm(`Delete your dataset '${ownName()}' from this browser? Models trained on it stay.`)) return;
      await lab.removeDataset(ownName());
      app.say(`Deleted '${ownName()}'.`);
    }));
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

    const root = el('div', {},
      choices, grid, caption,
      el('h3', {}, 'Your own images'),
      el('p', { class: 'muted' }, 'Pictures become 28×28 grey images as a drawing does: ink bright on dark (a light background is inverted), cropped, scaled and centred. Every tenth is held out. They stay in this browser with your models.'),
      el('div', { class: 'row' }, labelled('Dataset name', name), useOwn, addDrawn, removeOwn),
      drop, files, ownStatus);
    return { root, show: refresh, figure: () => ({ canvas: grid, name: `data-${lab.data?.name ?? 'mnist'}` }) };
  },
};
