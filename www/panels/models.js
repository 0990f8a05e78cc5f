// Models: load the pretrained A–E and the two-latent C2, import/export weights files, pick the backend.
import { el, fmt } from '../ui.js';

export default {
  id: 'models',
  create(app) {
    const { lab } = app;
    const list = el('div', { class: 'model-list' });
    const fileInput = el('input', { type: 'file', accept: '.bin,.vaelab,application/octet-stream', id: 'weights-file' });
    const drop = el(
      'div',
      { class: 'dropzone', tabIndex: 0, role: 'button', 'aria-label': 'Import a weights file: drop it here or press Enter to pick one' },
      'Drop a weights file or a .vaelab bundle here, or ',
      el('u', {}, 'pick one'),
      '.',
    );
    const backendInfo = el('p', { class: 'muted' });

    async function importFile(file) {
      if (!file) return;
      if (/\.vaelab$/i.test(file.name)) {
        const { openBundle } = await import('../bundle-ui.js');
        return app.guard(() => openBundle({ lab, app, show: app.show, input: file, what: file.name }));
      }
      const bytes = new Uint8Array(await file.arrayBuffer());
      const slot = file.name.replace(/\.bin$/i, '').slice(0, 40) || 'imported';
      await app.guard(async () => {
        const info = await lab.importWeights(bytes, slot);
        app.say(`Imported ${file.name}: model ${info.label}, ${info.params} parameters.`);
      });
    }

    fileInput.addEventListener('change', () =>
      importFile(fileInput.files[0]).finally(() => {
        fileInput.value = '';
      }),
    );
    drop.addEventListener('click', () => fileInput.click());
    drop.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        fileInput.click();
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
      importFile(e.dataTransfer.files[0]);
    });

    async function exportCurrent() {
      await app.guard(async () => {
        const bytes = await lab.exportWeights();
        const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
        const a = el('a', { href: url, download: `${lab.current}.bin` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        app.say(`Exported ${lab.current}.bin (${bytes.length} bytes).`);
      });
    }

    async function loadAll() {
      await app.guard(async () => {
        const keep = lab.current;
        for (const { name } of lab.presets) await lab.loadPretrained(name);
        if (keep) lab.use(keep);
        app.say('Loaded the pretrained models A–E.');
      });
    }

    /** The shipped two-latent model (C's widths, z = 2): its decoded plane is the Latent panel's. */
    async function loadTwoLatent() {
      await app.guard(async () => {
        const info = await lab.loadPretrained('C2', { dataset: 'mnist' });
        const where = app.show ? ': its decoded (z0, z1) plane is in Latent' : '';
        app.say(`Loaded C2, two latents and ${info.params.toLocaleString('en')} parameters${where}.`);
        if (app.show) await app.show('latent'); // the page's panels (an element has only its own)
      });
    }

    async function refresh() {
      const slots = await lab.slots();
      const rows = await Promise.all(slots.map((s) => lab.info(s)));
      list.replaceChildren(
        el(
          'table',
          { class: 'models' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...[
                ['model'],
                ['architecture'],
                ['parameters'],
                ['σ', 'the learned standard deviation of the decoder noise: p(x|z) = N(decoder mean, σ² I)'],
                ['epochs'],
                ['train nELBO', 'negative ELBO per image in nats (lower is better): reconstruction term + KL'],
                ['held-out nELBO', 'the same on the 1,000 held-out digits'],
                [''],
              ].map(([h, title]) => el('th', { title }, h)),
            ),
          ),
          // data-label: on a phone each row stacks into a card that names its fields (style.css)
          el(
            'tbody',
            {},
            ...rows.map((r) =>
              el(
                'tr',
                { class: r.slot === lab.current ? 'current' : '' },
                el('td', { 'data-label': 'model' }, r.slot),
                el('td', { 'data-label': 'architecture' }, `${r.label} (hidden [${r.arch.hidden.join(', ')}], z=${r.arch.latent})`),
                el('td', { 'data-label': 'parameters' }, r.params),
                el('td', { 'data-label': 'σ' }, fmt(r.sigma, 3)),
                el('td', { 'data-label': 'epochs' }, r.meta.epochs ?? '–'),
                el('td', { 'data-label': 'train nELBO' }, fmt(r.meta.train_nelbo)),
                el('td', { 'data-label': 'held-out nELBO' }, fmt(r.meta.test_nelbo)),
                el(
                  'td',
                  { class: 'actions' },
                  el(
                    'button',
                    { onclick: () => lab.use(r.slot), disabled: r.slot === lab.current },
                    r.slot === lab.current ? 'current' : 'use',
                  ),
                  el(
                    'button',
                    {
                      class: 'remove',
                      'aria-label': `remove ${r.slot}`,
                      title: 'remove (and forget it in this browser)',
                      onclick: () => app.guard(() => lab.removeSlot(r.slot)),
                      disabled: r.training,
                    },
                    '×',
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    }

    function showBackend() {
      backendInfo.textContent =
        lab.backend === 'webgpu'
          ? `Running on the GPU through ` +
            `WebGPU${lab.gpu?.name ? ` (adapter: ${lab.gpu.name}${lab.gpu.software ? ', a software renderer' : ''})` : ''}.`
          : `Running on the CPU (burn ndarray in WebAssembly)${lab.fallbackReason ? `: ${lab.fallbackReason}` : ''}.`;
      gpuButton.disabled = lab.backend === 'webgpu';
      cpuButton.disabled = lab.backend === 'cpu';
    }

    async function switchTo(name) {
      await app.guard(async () => {
        await lab.setBackend(name);
        app.say(`Now running on ${name === 'webgpu' ? 'WebGPU' : 'the CPU'}; every loaded model kept its weights.`);
      });
      showBackend();
    }

    const gpuButton = el('button', { onclick: () => switchTo('webgpu') }, 'Use WebGPU');
    const cpuButton = el('button', { onclick: () => switchTo('cpu') }, 'Use CPU');
    lab.on('models', () => app.guard(refresh));
    lab.on('current', () => app.guard(refresh));
    lab.on('backend', showBackend);
    lab.ready.then(showBackend, () => {});

    const root = el(
      'div',
      {},
      el(
        'div',
        { class: 'row' },
        el('button', { class: 'primary', id: 'load-pretrained', onclick: loadAll }, 'Load pretrained A–E'),
        el(
          'button',
          { id: 'load-two-latent', onclick: loadTwoLatent, title: "C's widths with two latents: the decoded plane without training" },
          'Load C2 (two latents)',
        ),
        el('button', { id: 'export-weights', onclick: exportCurrent }, 'Export current model'),
        el(
          'button',
          {
            id: 'export-bundle',
            title: 'the model, its history, the dataset it was trained on (yours travel whole) and the address’s view, in one file',
            onclick: () => app.guard(async () => (await import('../bundle-ui.js')).saveBundle({ lab, app })),
          },
          'Save as .vaelab',
        ),
      ),
      list,
      el('h3', {}, 'Import weights'),
      drop,
      el('div', { class: 'visually-hidden' }, fileInput),
      el(
        'p',
        { class: 'muted' },
        'Files are checked (format, architecture, checksum) before anything changes; a bad file leaves every model as it was.',
      ),
      el(
        'p',
        { class: 'muted', id: 'models-explained' },
        'Why is the nELBO negative? The decoder says each pixel is the decoder mean plus Gaussian noise of ',
        'standard deviation σ. A Gaussian is a density, not a probability: ' +
          'once σ is below 1/√(2π) ≈ 0.4, the density of a well-reconstructed ',
        'pixel exceeds 1 and −log p(x|z) goes below zero. These models ' +
          'learn σ ≈ 0.13–0.16, so the reconstruction term is about −450 nats ',
        'and the nELBO (reconstruction + KL) is negative. Lower is still better; compare models by it, not by its sign.',
      ),
      el('h3', {}, 'Backend'),
      backendInfo,
      el('div', { class: 'row' }, gpuButton, cpuButton),
    );
    return { root, show: () => app.guard(refresh) };
  },
};
