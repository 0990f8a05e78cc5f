// The lesson (issue 22): the guided start (tour.js) reached with the keyboard alone, linked at
// any step; presentation mode (`?present=1` and `<vae-lab present>`) at 1920 × 1080, the
// projector's size: every text in view at least 24 px, the panel's figure most of the screen's
// height and in view without scrolling, the keyboard (arrows, a clicker's page keys) moving between
// panels, Escape leaving. CPU configuration only (it is about layout and keys).
import fs from 'node:fs';
import { assert, open, tab, engine, drawSeven } from '../helpers.mjs';

const PROJECTOR = { width: 1920, height: 1080 };

/** In the page: the text in view (in `root`, shadow roots included) smaller than `min` px, and the
 *  box of the element `figure` (a selector inside `root`). */
function measure({ rootSel, figure, min }) {
  const root = rootSel ? document.querySelector(rootSel).shadowRoot : document;
  const small = [];
  const walk = (node) => {
    for (const n of node.childNodes) {
      if (n.nodeType === Node.TEXT_NODE && n.textContent.trim()) {
        const p = n.parentElement;
        const r = p.getBoundingClientRect();
        const cs = getComputedStyle(p);
        // in view: laid out, visible, inside the window (what the room sees without scrolling)
        if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || r.bottom <= 0 || r.top >= innerHeight) continue;
        if (p.closest('details:not([open]) > :not(summary)')) continue;
        // the size on screen: the font's size times every zoom on the way up (the element's)
        let zoom = 1;
        for (let e = p; e; e = e.parentElement ?? e.getRootNode?.()?.host) zoom *= parseFloat(getComputedStyle(e).zoom) || 1;
        const px = parseFloat(cs.fontSize) * zoom;
        if (px < min) small.push(`${n.textContent.trim().slice(0, 30)} (${px.toFixed(1)} px)`);
      }
      if (n.nodeType === Node.ELEMENT_NODE) walk(n);
    }
  };
  walk(rootSel ? root : document.body);
  const f = root.querySelector(figure).getBoundingClientRect();
  return { small, figure: { top: f.top, bottom: f.bottom, width: f.width, height: f.height }, vh: innerHeight, vw: innerWidth };
}

/** The figure fills most of the height and is in view; no text under 24 px. */
function check(m, what) {
  assert(m.small.length === 0, `${what}: text under 24 px: ${m.small.slice(0, 6).join('; ')}`);
  assert(m.figure.height >= 0.55 * m.vh, `${what}: the figure is ${m.figure.height.toFixed(0)} px of ${m.vh} px high`);
  assert(
    m.figure.top >= 0 && m.figure.bottom <= m.vh + 1,
    `${what}: the figure spans ${m.figure.top.toFixed(0)}–${m.figure.bottom.toFixed(0)} px`,
  );
  assert(m.figure.width <= m.vw, `${what}: the figure is ${m.figure.width.toFixed(0)} px wide`);
}

export default (cfg, { url, course, shot }) => [
  engine(
    'The two-latent C2: a link opens its decoded plane at once; a click on the plane moves the code; Models loads it',
    async (page) => {
      await open(page, url, 'panel=latent&arch=C2');
      await page.waitForSelector('#latent-plane[data-drawn="true"][data-marked-at]', { timeout: 120_000 });
      const info = await page.evaluate(() => window.vaeLab.info());
      assert(info.slot === 'C2' && info.arch.latent === 2 && info.params === 101_653, `the model: ${JSON.stringify(info).slice(0, 200)}`);
      // the plane decodes different digits in different places: the cells differ from each other
      const cells = await page.$eval('#latent-plane', (c) => {
        const ctx = c.getContext('2d');
        const cell = (i, j) => Array.from(ctx.getImageData(1 + 29 * i, 1 + 29 * j, 28, 28).data.filter((_, k) => k % 4 === 0));
        const dist = (a, b) => a.reduce((s, v, k) => s + Math.abs(v - b[k]), 0) / a.length;
        return { corners: dist(cell(0, 0), cell(14, 14)), across: dist(cell(2, 7), cell(12, 7)), w: c.width, visible: c.offsetHeight };
      });
      assert(cells.w === 15 * 29 + 1 && cells.visible > 200, `the plane is ${cells.w} px wide, ${cells.visible} px high on screen`);
      assert(cells.corners > 20 && cells.across > 20, `the plane's cells hardly differ: ${JSON.stringify(cells)}`);
      // a click on the plane moves the code there: the sliders, the ring and the decoded digit follow
      const box = await page.$eval('#latent-plane', (c) => {
        c.scrollIntoView({ block: 'center' });
        const r = c.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height };
      });
      const z0Before = await page.$eval('#latent-decoded', (c) => c.dataset.z0);
      await page.mouse.click(box.x + box.w * ((1 + 14 + 1 * 29) / cells.w), box.y + box.h * ((1 + 14 + 13 * 29) / cells.w));
      // cell 1 across is z1 = −3 + 6/14; cell 13 down is z2 = 3 − 6/14
      const want = -3 + 6 / 14;
      await page.waitForFunction((b) => document.getElementById('latent-decoded').dataset.z0 !== b, z0Before, { timeout: 30_000 });
      const after = await page.evaluate(() => ({
        sliders: [...document.querySelectorAll('#panel-latent input[type=range]')].map((r) => Number(r.value)),
        mark: document.getElementById('latent-plane').dataset.markedAt,
        z: new URL(location.href).searchParams.get('z'),
      }));
      assert(Math.abs(after.sliders[0] - want) < 0.03 && Math.abs(after.sliders[1] + want) < 0.03, JSON.stringify(after));
      assert(after.z === after.sliders.map((v) => v.toFixed(2)).join(','), `the address keeps the code: ${after.z}`);
      // the arrow keys move it a quarter step
      await page.focus('#latent-plane');
      await page.keyboard.press('ArrowRight');
      await page.waitForSelector(`#latent-decoded[data-z0="${(after.sliders[0] + 0.25).toFixed(2)}"]`, { timeout: 30_000 });
      await shot(page, 'two-latent-plane');
      // from another model, Models → Load C2 loads it and opens the plane
      await page.evaluate(() => window.vaeLab.loadPretrained('B'));
      await tab(page, 'models');
      await page.click('#load-two-latent');
      await page.waitForFunction(() => window.vaeLab.current === 'C2' && !document.getElementById('panel-latent').hidden, null, {
        timeout: 60_000,
      });
      await page.waitForSelector('#latent-plane[data-marked-at]:not([hidden])', { timeout: 60_000 });
      // Fashion-MNIST has no C2: said, not guessed
      const refused = await page.evaluate(() =>
        window.vaeLab.loadPretrained('C2', { dataset: 'fashion' }).then(
          () => null,
          (e) => e.message,
        ),
      );
      assert(refused && /fashion has A, B, C, D, E/.test(refused), `loading C2 for fashion: ${refused}`);
    },
  ),
  engine('Map: a click anywhere decodes that place of the plane, a drag animates it, and a drawn digit shows as a point', async (page) => {
    await open(page, url, 'panel=draw&arch=C');
    await drawSeven(page);
    await tab(page, 'map');
    await page.waitForSelector('#map-canvas[data-points="1000"][data-drawn-at]', { timeout: 120_000 });
    // the drawn digit: a black diamond on the map where its latent mean projects
    const drawn = await page.evaluate(() => {
      const c = document.getElementById('map-canvas');
      const [x, y] = c.dataset.drawnAt.split(',').map(Number);
      const px = c.getContext('2d').getImageData(Math.round(x), Math.round(y), 1, 1).data;
      return { x, y, px: Array.from(px), w: c.width, h: c.height };
    });
    assert(drawn.x > 0 && drawn.x < drawn.w && drawn.y > 0 && drawn.y < drawn.h, `the drawn point at ${drawn.x}, ${drawn.y}`);
    assert(drawn.px[0] < 40 && drawn.px[1] < 40 && drawn.px[2] < 40, `no marker at the drawn point: rgb ${drawn.px}`);
    const box = await page.$eval('#map-canvas', (c) => {
      const r = c.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height };
    });
    const decodes = () => page.$eval('#map-canvas', (c) => Number(c.dataset.decodes ?? 0));
    const decodedAt = async (fx, fy) => {
      const before = await decodes();
      await page.mouse.click(box.x + fx * box.w, box.y + fy * box.h);
      await page.waitForFunction((b) => Number(document.getElementById('map-canvas').dataset.decodes ?? 0) > b, before, {
        timeout: 30_000,
      });
      return page.$eval('#map-decoded', (c) => ({ ...c.dataset }));
    };
    const left = await decodedAt(0.12, 0.5);
    const right = await decodedAt(0.88, 0.5);
    assert(left.z !== right.z && left.sum !== right.sum, `two places decoded alike: ${JSON.stringify({ left, right })}`);
    // the decoded place is the plane's point mapped back: z = mean + a·axis1 + b·axis2, and its image is decode(z)
    const again = await page.evaluate(async (d) => {
      const plane = await window.vaeLab.latentPlane();
      const [a, b] = d.at.split(',').map(Number);
      const z = d.z.split(',').map(Number);
      const want = plane.mean.map((m, j) => m + a * plane.axes[0][j] + b * plane.axes[1][j]);
      const x = await window.vaeLab.decode(z);
      return { off: Math.max(...want.map((v, j) => Math.abs(v - z[j]))), sum: x.reduce((s, v) => s + v, 0) };
    }, right);
    assert(again.off < 2e-3, `z is ${again.off} away from the plane's point`);
    assert(Math.abs(again.sum - Number(right.sum)) < 1, `decode(z) sums to ${again.sum}, the panel shows ${right.sum}`);
    // a drag decodes as it goes
    const before = await decodes();
    await page.mouse.move(box.x + 0.3 * box.w, box.y + 0.3 * box.h);
    await page.mouse.down();
    await page.mouse.move(box.x + 0.7 * box.w, box.y + 0.7 * box.h, { steps: 12 });
    await page.mouse.up();
    await page.waitForFunction((b) => Number(document.getElementById('map-canvas').dataset.decodes) >= b + 3, before, {
      timeout: 30_000,
    });
    await shot(page, 'map-decode');
  }),
  ...(cfg.name !== 'cpu'
    ? []
    : [
        [
          'Links: a copied link carries a run of your own; another browser trains it again, with progress, to the same weights bit for bit',
          async (page) => {
            await open(page, url, 'panel=sample');
            /** The parameters of a weights file (its last 4·n bytes before the 8-byte checksum), as hex. */
            const params = (p, slot) =>
              p.evaluate(async (s) => {
                const bytes = await window.vaeLab.exportWeights(s);
                const n = (await window.vaeLab.info(s)).params;
                const view = bytes.subarray(bytes.length - 8 - 4 * n, bytes.length - 8);
                return Array.from(view, (b) => b.toString(16).padStart(2, '0')).join('');
              }, slot);
            const slot = await page.evaluate(async () => {
              const h = window.vaeLab.train({ arch: 'A', epochs: 2, limit: 320, seed: 5 });
              await h.done;
              const s = await h.started;
              window.vaeLab.use(s);
              return s;
            });
            await page.waitForFunction((s) => new URL(location.href).searchParams.get('model') === s, slot);
            const sent = await params(page, slot);
            await page.click('#copy-link');
            const link = await page.waitForFunction(() => document.getElementById('copy-link').dataset.copied).then((h) => h.jsonValue());
            const q = new URL(link).searchParams;
            assert(!q.has('model') && q.get('backend') === 'cpu' && JSON.parse(q.get('run')).epochs === 2, `the link is ${link}`);
            // another browser (a fresh context: none of this one's models) opens it
            const other = await page
              .context()
              .browser()
              .newContext({ viewport: { width: 1200, height: 900 } });
            try {
              const p = await other.newPage();
              // the Train panel's states as they come (a run of 10 steps is over in a blink)
              await p.addInitScript(() => {
                window.__trainStates = [];
                document.addEventListener('DOMContentLoaded', () =>
                  new MutationObserver(() => {
                    const s = document.getElementById('panel-train')?.dataset.state;
                    if (s && window.__trainStates.at(-1) !== s) window.__trainStates.push(s);
                  }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ['data-state'] }),
                );
              });
              await p.goto(link);
              await p.waitForFunction(
                () => /^run\d+$/.test(window.vaeLab?.current ?? '') && new URL(location.href).searchParams.get('panel') === 'sample',
                null,
                { timeout: 180_000 },
              );
              const seen = await p.evaluate(() => ({ states: window.__trainStates, url: location.href }));
              assert(seen.states.includes('running'), `the Train panel never showed the run: ${seen.states}`);
              assert(!new URL(seen.url).searchParams.has('run'), `the run stays in the address: ${seen.url}`);
              assert(await p.isVisible('.msg:has-text("This link carries a model")'), 'no word of the training');
              const got = await p.evaluate(() => window.vaeLab.current);
              assert((await params(p, got)) === sent, "the retrained weights differ from the sender's");
              await shot(p, 'run-link-trained');
            } finally {
              await other.close();
            }
          },
        ],
        [
          'Bundles: a run on your own pictures travels as a .vaelab (saved from Copy link), opens by a drop and by ?bundle= ' +
            'from another origin in other browsers: the same weights, history, dataset and view; a failed fetch says why',
          async (page) => {
            await open(page, url, 'panel=sample');
            // pictures of one's own (bars at ten heights, labelled), a run on them, shown in Reconstruct
            const slot = await page.evaluate(async () => {
              const lab = window.vaeLab;
              const images = Array.from({ length: 120 }, (_, i) => {
                const x = new Float32Array(784);
                for (let r = 0; r < 28; r++) for (let c = 4; c < 24; c++) if (Math.abs(r - 4 - 2 * (i % 10)) < 2) x[r * 28 + c] = 0.9;
                return x;
              });
              await lab.addImages('bars', images, { labels: images.map((_, i) => i % 10), title: 'Bars' });
              await lab.useDataset('bars');
              const h = lab.train({ arch: 'A', epochs: 2, seed: 4 });
              await h.done;
              const s = await h.started;
              lab.use(s);
              return s;
            });
            await tab(page, 'reconstruct');
            await page.waitForFunction((s) => new URL(location.href).searchParams.get('model') === s, slot);
            /** What must travel: the parameters, the history, the dataset's pixels and labels. */
            const state = (p, s) =>
              p.evaluate(async (sl) => {
                const lab = window.vaeLab;
                const bytes = await lab.exportWeights(sl);
                const info = await lab.info(sl);
                const params = bytes.subarray(bytes.length - 8 - 4 * info.params, bytes.length - 8);
                const d = await lab.datasetImages(lab.data.name);
                const sum = (a) => a.reduce((t, v, i) => (t * 31 + Math.round(v * 255) * (i + 1)) % 1e9, 7);
                return {
                  params: Array.from(params, (b) => b.toString(16).padStart(2, '0')).join(''),
                  history: JSON.stringify(info.meta.history),
                  data: { title: lab.data.title, n: d.n, pixels: sum(d.pixels), labels: sum(Array.from(d.labels, (v) => v / 255)) },
                };
              }, s);
            const sent = await state(page, slot);
            assert(JSON.parse(sent.history).length === 2 && sent.data.n === 120, `the run: ${sent.history.slice(0, 80)}, ${sent.data.n}`);
            // Copy link cannot carry it: its note offers the file
            await page.click('#copy-link');
            await page.waitForSelector('.msg:has-text("without your model") [data-save-bundle]');
            const [download] = await Promise.all([page.waitForEvent('download'), page.click('.msg [data-save-bundle]')]);
            assert(download.suggestedFilename() === `${slot}.vaelab`, `the file is named ${download.suggestedFilename()}`);
            const bytes = fs.readFileSync(await download.path());
            const b64 = bytes.toString('base64');
            /** A fresh browser (none of this one's models or datasets) opened on `query`. */
            const fresh = async (query) => {
              const other = await page
                .context()
                .browser()
                .newContext({ viewport: { width: 1200, height: 900 } });
              const p = await other.newPage();
              await p.route('https://course.example/lessons/**', (r) =>
                r.request().url().endsWith('/run.vaelab')
                  ? r.fulfill({ body: bytes, headers: { 'access-control-allow-origin': '*', 'content-type': 'application/zip' } })
                  : r.fulfill({ status: 404, headers: { 'access-control-allow-origin': '*' }, body: 'no such file' }),
              );
              await open(p, url, query);
              await p.waitForSelector('body[data-bundles="ready"]');
              return { other, p };
            };
            /** The page after it reloaded into the bundle's view: the same model, dataset and panel. */
            const arrived = async (p, how) => {
              await p.waitForFunction(
                () => document.body.dataset.ready === 'true' && new URL(location.href).searchParams.get('panel') === 'reconstruct',
                null,
                { timeout: 120_000 },
              );
              await p.waitForFunction((s) => window.vaeLab.current === s && window.vaeLab.data?.name === 'bars', slot, { timeout: 60_000 });
              const got = await state(p, slot);
              assert(got.params === sent.params, `${how}: the weights differ`);
              assert(got.history === sent.history, `${how}: the history differs`);
              assert(JSON.stringify(got.data) === JSON.stringify(sent.data), `${how}: the dataset ${JSON.stringify(got.data)}`);
              assert(await p.isVisible('#panel-reconstruct'), `${how}: not in the bundle's panel`);
              assert(await p.isVisible(`.msg:has-text("Opened ${slot} from")`), `${how}: no word of the bundle`);
            };
            // by a drop anywhere on the page
            let { other, p } = await fresh('panel=sample');
            try {
              const dt = await p.evaluateHandle((data) => {
                const t = new DataTransfer();
                t.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'run.vaelab'));
                return t;
              }, b64);
              // (a DragEvent made in the page: Playwright's dispatchEvent does not carry the files to a listener on document)
              await p.evaluate(
                (t) =>
                  document
                    .querySelector('header')
                    .dispatchEvent(new DragEvent('drop', { dataTransfer: t, bubbles: true, cancelable: true })),
                dt,
              );
              await arrived(p, 'dropped');
              await shot(p, 'bundle-opened');
              // opened twice: nothing is replaced or duplicated (the same contents keep their names)
              await p.evaluate((data) => window.vaeLab.openBundle(Uint8Array.from(atob(data), (c) => c.charCodeAt(0))), b64);
              const names = await p.evaluate(async () => ({ slots: await window.vaeLab.slots(), data: await window.vaeLab.datasets() }));
              assert(names.slots.filter((s) => s.startsWith(slot)).length === 1, `slots after a second open: ${names.slots}`);
              assert(names.data.filter((d) => d.own).length === 1, `datasets after a second open: ${names.data.map((d) => d.name)}`);
            } finally {
              await other.close();
            }
            // by ?bundle= from another origin (a course's site; the fresh contexts' requests are not the harness's to count)
            ({ other, p } = await fresh(`panel=sample&bundle=${encodeURIComponent('https://course.example/lessons/run.vaelab')}`));
            try {
              await arrived(p, '?bundle=');
              assert(!new URL(p.url()).searchParams.has('bundle'), `the bundle stays in the address: ${p.url()}`);
            } finally {
              await other.close();
            }
            // a bundle that is not there: said, and the shipped model stays
            ({ other, p } = await fresh(`panel=sample&bundle=${encodeURIComponent('https://course.example/lessons/gone.vaelab')}`));
            try {
              await p.waitForSelector('.msg:has-text("could not be opened")', { timeout: 30_000 });
              assert(await p.isVisible('.msg:has-text("404")'), 'the message does not say what the server answered');
              assert((await p.evaluate(() => window.vaeLab.current)) === 'C', 'the shipped model is gone');
            } finally {
              await other.close();
            }
          },
        ],
        [
          'Links: Copy link never names a model the receiver cannot get (an imported one, a warm start)',
          async (page) => {
            await open(page, url, 'panel=sample');
            const copied = async () => {
              await page.evaluate(() => delete document.getElementById('copy-link').dataset.copied);
              await page.click('#copy-link');
              const h = await page.waitForFunction(() => document.getElementById('copy-link').dataset.copied);
              return new URL(await h.jsonValue()).searchParams;
            };
            await page.evaluate(async () => {
              const bytes = new Uint8Array(await (await fetch('weights/A.bin')).arrayBuffer());
              await window.vaeLab.importWeights(bytes, 'mine');
              window.vaeLab.use('mine');
            });
            await page.waitForFunction(() => new URL(location.href).searchParams.get('model') === 'mine');
            let q = await copied();
            assert(!q.has('model') && !q.has('run'), `an imported model's link: ${q}`);
            await page.waitForSelector('.msg:has-text("without your model mine")');
            // a warm start from it: its settings alone do not make it
            await page.evaluate(async () => {
              await window.vaeLab.train({ slot: 'mine', resume: true, arch: 'A', epochs: 1, limit: 128 }).done;
              window.vaeLab.use('mine');
            });
            q = await copied();
            assert(!q.has('model') && !q.has('run'), `a warm-started model's link: ${q}`);
          },
        ],
        [
          'Tour: a first visit marks the Tour button; from ?tour=1 the keyboard alone reaches the last step and finishes',
          async (page) => {
            await open(page, url, 'panel=sample');
            assert(await page.isVisible('#tour-start.new'), 'a first visit does not mark the Tour button');
            await open(page, url, 'panel=sample&tour=1');
            await page.waitForSelector('#tour[data-step="1"]');
            await page.waitForSelector('#panel-draw:not([hidden]) #draw-canvas.tour-target');
            const seen = [];
            for (let k = 1; k <= 5; k++) {
              await page.waitForSelector(`#tour[data-step="${k}"]`);
              await page.waitForFunction(() => document.querySelector('.tour-target'));
              const s = await page.evaluate(() => ({
                focus: document.activeElement?.id,
                panel: new URL(location.href).searchParams.get('panel'),
                tour: new URL(location.href).searchParams.get('tour'),
                next: document.getElementById('tour-next').textContent,
                target: document.querySelector('.tour-target')?.id,
              }));
              seen.push(s);
              assert(s.focus === 'tour-next', `step ${k}: the focus is on ${s.focus}, not Next`);
              assert(s.tour === String(k), `step ${k}: the address says tour=${s.tour}`);
              await page.keyboard.press('Enter');
            }
            assert(
              seen.map((s) => s.panel).join() === 'draw,sample,chain,train,train' && seen[4].next === 'Finish',
              `the steps: ${JSON.stringify(seen)}`,
            );
            assert(
              seen.every((s) => s.target),
              `a step without its target: ${JSON.stringify(seen)}`,
            );
            await page.waitForFunction(() => !document.getElementById('tour'));
            const after = await page.evaluate(() => ({
              tour: new URL(location.href).searchParams.has('tour'),
              marked: document.querySelectorAll('.tour-target').length,
              isNew: document.getElementById('tour-start').classList.contains('new'),
            }));
            assert(!after.tour && after.marked === 0 && !after.isNew, `after Finish: ${JSON.stringify(after)}`);
            await shot(page, 'tour-done');
          },
        ],
        [
          'Tour: ?tour=3 opens the chains step; Back goes to 2; Escape ends it; a step out of range starts at 1',
          async (page) => {
            await open(page, url, 'tour=3');
            await page.waitForSelector('#tour[data-step="3"]');
            await page.waitForSelector('#panel-chain:not([hidden]) #chain-run.tour-target');
            await shot(page, 'tour-step3');
            await page.keyboard.press('Shift+Tab'); // from Next to Back
            await page.keyboard.press('Enter');
            await page.waitForSelector('#tour[data-step="2"]');
            await page.waitForSelector('#panel-sample:not([hidden])');
            await page.focus('#tour-next');
            await page.keyboard.press('Escape');
            await page.waitForFunction(() => !document.getElementById('tour'));
            await open(page, url, 'tour=9');
            await page.waitForSelector('#tour[data-step="1"]');
            const warned = await page.locator('.msg.warn', { hasText: "tour step '9'" }).count();
            assert(warned === 1, 'a step out of range gave no message');
          },
        ],
        [
          'Present: at 1920 × 1080 the panel fills the screen with text of at least 24 px; keys move between panels, Escape leaves',
          async (page) => {
            await page.setViewportSize(PROJECTOR);
            await open(page, url, 'panel=sample&present=1');
            await page.waitForSelector('#sample-canvas[data-seed]', { timeout: 30_000 });
            await page.waitForSelector('#present-hint');
            check(await page.evaluate(measure, { figure: '#sample-canvas', min: 24 }), 'Sample');
            await shot(page, 'present-sample');
            // the arrows and a clicker's PageDown move on (focus on the page, not in a field)
            await page.evaluate(() => document.activeElement?.blur());
            await page.keyboard.press('ArrowRight');
            await page.waitForSelector('#panel-reconstruct:not([hidden])');
            await page.keyboard.press('PageDown');
            await page.waitForSelector('#panel-chain:not([hidden])');
            await page.waitForFunction(() => new URL(location.href).searchParams.get('panel') === 'chain');
            await page.waitForSelector('#chain-canvas[data-frame]', { timeout: 60_000 });
            check(await page.evaluate(measure, { figure: '#chain-canvas', min: 24 }), 'Chain');
            await shot(page, 'present-chain');
            await page.keyboard.press('PageUp');
            await page.waitForSelector('#panel-reconstruct:not([hidden])');
            // in a field the arrows are the field's: the panel stays
            await page.focus('#reconstruct-sampled');
            await page.keyboard.press('ArrowRight');
            await page.waitForTimeout(300);
            assert(await page.isVisible('#panel-reconstruct'), 'an arrow in a field moved the presentation');
            await page.evaluate(() => document.activeElement?.blur());
            // Escape leaves: the page's header is back and the address has no `present`
            await page.keyboard.press('Escape');
            await page.waitForFunction(() => !document.documentElement.classList.contains('present'));
            const after = await page.evaluate(() => ({
              header: getComputedStyle(document.querySelector('header.chrome')).display,
              present: new URL(location.href).searchParams.has('present'),
              hint: !!document.getElementById('present-hint'),
            }));
            assert(after.header !== 'none' && !after.present && !after.hint, `after Escape: ${JSON.stringify(after)}`);
          },
        ],
        [
          'Present: a <vae-lab present> on a course page fills the window at 1920 × 1080 with text of at least 24 px; keys move it on',
          async (page) => {
            await page.setViewportSize(PROJECTOR);
            await page.goto(`${course}bare.html`);
            await page.evaluate(() => {
              const e = document.createElement('vae-lab');
              e.id = 'talk';
              e.setAttribute('panel', 'sample');
              e.setAttribute('present', '');
              document.body.append(e);
            });
            await page.waitForFunction(() => document.getElementById('talk').shadowRoot?.querySelector('#sample-canvas[data-seed]'), null, {
              timeout: 120_000,
            });
            const box = await page.$eval('#talk', (e) => {
              const r = e.getBoundingClientRect();
              return { w: r.width, h: r.height, top: r.top, left: r.left, focused: document.activeElement === e };
            });
            assert(box.w >= 1900 && box.h >= 1060 && box.top <= 1 && box.left <= 1, `the element covers ${JSON.stringify(box)}`);
            check(await page.evaluate(measure, { rootSel: '#talk', figure: '#sample-canvas', min: 24 }), 'the element, Sample');
            await shot(page, 'present-element');
            await page.focus('#talk');
            await page.keyboard.press('ArrowRight');
            await page.waitForFunction(() => document.getElementById('talk').getAttribute('panel') === 'reconstruct');
            await page.keyboard.press('Escape');
            await page.waitForFunction(() => !document.getElementById('talk').hasAttribute('data-presenting'));
          },
        ],
      ]),
];
