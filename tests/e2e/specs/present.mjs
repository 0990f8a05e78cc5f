// Presentation mode (issue 22 item 2): `?present=1` and `<vae-lab present>` at 1920 × 1080, the
// projector's size: every text in view at least 24 px, the panel's figure most of the screen's
// height and in view without scrolling, the keyboard (arrows, a clicker's page keys) moving between
// panels, Escape leaving. CPU configuration only (it is about layout and keys).
import { assert, open } from '../helpers.mjs';

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

export default (cfg, { url, course, shot }) =>
  cfg.name === 'cpu'
    ? [
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
      ]
    : [];
