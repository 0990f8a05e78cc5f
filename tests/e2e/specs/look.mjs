// How it looks (issue 18 items 7, 9 and the Collapse PNG of 8): dark mode's chart text readable
// (WCAG contrast ≥ 4.5:1, computed in the page), a <vae-lab> element that follows the page around it
// (or its `theme`), and a phone (390 × 844): Collapse's tick labels apart, the Models table's buttons
// in view, the selected tab in view, chart text ≥ 11 px. CPU configuration only (it is about CSS).
import { assert, open, tab, loadPretrained } from '../helpers.mjs';

/** Page-side helpers, installed once per page: WCAG contrast, the background a node is seen on,
 *  the ink of a uPlot chart's axes read from its canvas. */
const HELPERS = () => {
  const parse = (c) => {
    const m = /rgba?\(([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)(?:[ ,/]+([\d.]+))?\)/.exec(c);
    return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : [0, 0, 0, 0];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const lum = (c) => {
    const lin = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  /** The colour a node is seen on: its and its ancestors' backgrounds (across shadow roots), over
   *  the page's canvas (white unless the page is in a dark colour scheme). */
  const background = (node) => {
    const layers = [];
    for (let n = node; n; n = n.parentElement ?? n.getRootNode?.()?.host) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    const dark =
      getComputedStyle(document.documentElement).colorScheme.includes('dark') && matchMedia('(prefers-color-scheme: dark)').matches;
    let bg = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const textContrast = (node) => {
    const bg = background(node);
    const fg = over(parse(getComputedStyle(node).color), bg);
    return { ratio: contrast(fg, bg), fg: fg.slice(0, 3).map(Math.round).join(','), bg: bg.slice(0, 3).map(Math.round).join(',') };
  };
  /** The chart's axes' ink (the canvas outside the plot area: tick labels, axis labels), its median
   *  opaque colour against the chart's background. */
  const axisContrast = (uplot) => {
    const canvas = uplot.querySelector('canvas');
    const plot = uplot.querySelector('.u-over').getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    const sx = canvas.width / box.width;
    const sy = canvas.height / box.height;
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const ink = [];
    for (let y = 0; y < canvas.height; y++) {
      for (let x = 0; x < canvas.width; x++) {
        const inPlot =
          x >= (plot.left - box.left) * sx - 2 && x <= (plot.right - box.left) * sx + 2 && y <= (plot.bottom - box.top) * sy + 2;
        const o = (y * canvas.width + x) * 4;
        if (!inPlot && d[o + 3] >= 230) ink.push([d[o], d[o + 1], d[o + 2], d[o + 3] / 255]);
      }
    }
    if (ink.length < 20) return { ratio: 0, fg: 'no axis ink', bg: '' };
    ink.sort((a, b) => lum(a) - lum(b));
    const bg = background(canvas);
    const fg = over(ink[ink.length >> 1], bg);
    return { ratio: contrast(fg, bg), fg: fg.slice(0, 3).map(Math.round).join(','), bg: bg.slice(0, 3).map(Math.round).join(',') };
  };
  /** The x axis's tick labels as ink runs on the canvas (a run: columns with ink, joined across gaps
   *  under 4 px): their boxes in CSS px, the widest label uPlot could draw there, the canvas width. */
  const xTickLabels = (uplot, sample) => {
    const canvas = uplot.querySelector('canvas');
    const plot = uplot.querySelector('.u-over').getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    const s = canvas.width / box.width;
    // tick marks take 10 px under the plot, a 5 px gap, then the labels (12 px font by default)
    const y0 = Math.round((plot.bottom - box.top + 12) * s);
    const y1 = Math.round((plot.bottom - box.top + 33) * s);
    const d = canvas.getContext('2d').getImageData(0, y0, canvas.width, y1 - y0).data;
    const colInk = (x) => {
      for (let y = 0; y < y1 - y0; y++) if (d[(y * canvas.width + x) * 4 + 3] > 60) return true;
      return false;
    };
    const runs = [];
    let gap = Infinity;
    for (let x = 0; x < canvas.width; x++) {
      if (colInk(x)) {
        if (gap < 4 * s && runs.length) runs[runs.length - 1].right = x + 1;
        else runs.push({ left: x, right: x + 1 });
        gap = 0;
      } else gap++;
    }
    let top = Infinity,
      bottom = -1;
    for (let y = 0; y < y1 - y0; y++)
      for (let x = 0; x < canvas.width; x++)
        if (d[(y * canvas.width + x) * 4 + 3] > 60) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
        }
    const m = document.createElement('canvas').getContext('2d');
    m.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
    return {
      runs: runs.map((r) => ({ left: r.left / s, right: r.right / s, width: (r.right - r.left) / s })),
      label: m.measureText(sample).width,
      canvas: canvas.width / s,
      inkHeight: (bottom - top + 1) / s,
    };
  };
  window.__look = { textContrast, axisContrast, xTickLabels };
};

/** Contrast of every uPlot chart's legend, title and axes inside `root` (a selector). */
async function chartContrasts(page, root) {
  await page.evaluate(HELPERS);
  return page.evaluate((sel) => {
    const out = [];
    for (const u of document.querySelectorAll(`${sel} .uplot`)) {
      const name = u.querySelector('.u-title')?.textContent.slice(0, 30) ?? '?';
      for (const t of u.querySelectorAll('.u-legend .u-label, .u-title'))
        out.push({ what: `${name}: '${t.textContent.slice(0, 24)}'`, ...window.__look.textContrast(t) });
      out.push({ what: `${name}: axes`, ...window.__look.axisContrast(u) });
    }
    return out;
  }, root);
}

const phone = { width: 390, height: 844 };

export default (cfg, { url, course, shot }) =>
  cfg.name === 'cpu'
    ? [
        [
          'Look: in dark mode the legends and axes of Train and Collapse read at contrast ≥ 4.5:1',
          async (page) => {
            await page.emulateMedia({ colorScheme: 'dark' });
            await open(page, url, 'panel=draw');
            await page.evaluate(() => window.vaeLab.train({ arch: 'A', epochs: 1, limit: 320 }).done);
            await tab(page, 'train');
            await page.waitForSelector('#panel-train .uplot .u-legend .u-label', { timeout: 20_000 });
            await page.waitForTimeout(300);
            const train = await chartContrasts(page, '#panel-train');
            await shot(page, 'look-dark-train');
            await tab(page, 'collapse');
            await page.waitForSelector('#collapse-chart .uplot .u-legend .u-label', { timeout: 20_000 });
            const collapse = await chartContrasts(page, '#panel-collapse');
            await shot(page, 'look-dark-collapse');
            const all = [...train, ...collapse];
            assert(train.length >= 3 && collapse.length >= 3, `found ${train.length} texts in Train, ${collapse.length} in Collapse`);
            const bad = all.filter((c) => !(c.ratio >= 4.5));
            assert(
              bad.length === 0,
              `contrast under 4.5:1: ${bad
                .slice(0, 4)
                .map((c) => `${c.what} rgb(${c.fg}) on rgb(${c.bg}) ${c.ratio.toFixed(2)}`)
                .join('; ')}`,
            );
          },
        ],
        [
          'Look: a <vae-lab> on a white course page is light under a dark system; theme="dark" makes it dark',
          async (page) => {
            await page.emulateMedia({ colorScheme: 'dark' });
            await page.goto(`${course}bare.html`);
            await page.evaluate(() => {
              for (const [id, theme] of [
                ['plain', null],
                ['dark', 'dark'],
                ['auto', 'auto'],
              ]) {
                const e = document.createElement('vae-lab');
                e.id = id;
                e.setAttribute('panel', 'sample');
                if (theme) e.setAttribute('theme', theme);
                document.body.append(e);
              }
            });
            await page.waitForFunction(
              () => ['plain', 'dark', 'auto'].every((id) => document.getElementById(id).shadowRoot?.querySelector('#sample-canvas')),
              null,
              { timeout: 20_000 },
            );
            await page.waitForTimeout(200);
            const lum = () =>
              page.evaluate(() =>
                Object.fromEntries(
                  ['plain', 'dark', 'auto'].map((id) => {
                    const e = document.getElementById(id);
                    const [r, g, b] = getComputedStyle(e)
                      .backgroundColor.match(/[\d.]+/g)
                      .map(Number);
                    const text = getComputedStyle(e.shadowRoot.querySelector('.vae-lab-element')).color;
                    return [id, { bg: `rgb(${r},${g},${b})`, light: (r + g + b) / 3 > 160, text }];
                  }),
                ),
              );
            const a = await lum();
            await shot(page, 'look-element-white-page');
            assert(a.plain.light, `on a white page under a dark system the element is ${a.plain.bg} (text ${a.plain.text})`);
            assert(!a.dark.light, `theme="dark" gives ${a.dark.bg}`);
            assert(!a.auto.light, `theme="auto" under a dark system gives ${a.auto.bg}`);
            // a page that turns dark takes its theme-less elements along; theme="light" stays light
            await page.evaluate(() => {
              document.body.style.background = '#15171c';
              document.getElementById('dark').setAttribute('theme', 'light');
            });
            await page.waitForTimeout(200);
            const b = await lum();
            await shot(page, 'look-element-dark-page');
            assert(!b.plain.light, `on a dark page the element stays ${b.plain.bg}`);
            assert(b.dark.light, `theme="light" gives ${b.dark.bg}`);
          },
        ],
        [
          'Look: on a phone Collapse tick labels stand apart and chart text is at least 11 px',
          async (page) => {
            // opened wide, then narrowed (a phone turned upright, a window made narrow): the chart resizes
            await open(page, url, 'panel=collapse');
            await page.waitForSelector('#collapse-chart .uplot .u-legend .u-label', { timeout: 20_000 });
            await page.setViewportSize(phone);
            await page.waitForFunction(() => document.querySelector('#collapse-chart .uplot').getBoundingClientRect().width < 390, null, {
              timeout: 5_000,
            });
            await page.waitForTimeout(300);
            await page.evaluate(HELPERS);
            const t = await page.evaluate(() => window.__look.xTickLabels(document.querySelector('#collapse-chart .uplot'), '0.00'));
            const fonts = await page.evaluate(() =>
              [...document.querySelectorAll('#collapse-chart .u-title, #collapse-chart .u-legend .u-label')].map((n) =>
                parseFloat(getComputedStyle(n).fontSize),
              ),
            );
            await shot(page, 'look-phone-collapse');
            const merged = t.runs.filter((r) => r.width > t.label * 1.45);
            assert(
              merged.length === 0,
              `tick labels run together (under 4 px apart): ink ${merged.map((r) => r.width.toFixed(0)).join(', ')} px wide ` +
                `for labels of ${t.label.toFixed(0)} px`,
            );
            assert(t.runs.length >= 3, `only ${t.runs.length} tick labels under the Collapse chart`);
            assert(
              t.runs.at(-1).right <= t.canvas - 1,
              `the last tick label is cut at the chart's edge (${t.runs.at(-1).right.toFixed(1)} of ${t.canvas} px)`,
            );
            // digits are about 0.7 of a font's size: an 11 px font's are 7.7 px tall
            assert(t.inkHeight >= 7.7, `tick labels ${t.inkHeight.toFixed(1)} px tall (an 11 px font's digits are 7.7)`);
            assert(fonts.length >= 2 && fonts.every((f) => f >= 11), `chart text at ${fonts.join(', ')} px`);
          },
        ],
        [
          'Look: on a phone the Models table fits with its buttons in view, and the selected last tab is in view',
          async (page) => {
            await page.setViewportSize(phone);
            await open(page, url, 'panel=models');
            await loadPretrained(page, ['A', 'B', 'C']);
            await page.waitForFunction(() => document.querySelectorAll('#panel-models table.models tbody tr').length >= 3, null, {
              timeout: 20_000,
            });
            const m = await page.evaluate(() => {
              const t = document.querySelector('#panel-models table.models');
              const buttons = [...t.querySelectorAll('button')].map((b) => {
                const r = b.getBoundingClientRect();
                return { left: r.left, right: r.right, text: b.textContent };
              });
              const nav = document.getElementById('tabs');
              const n = nav.getBoundingClientRect();
              const r = document.getElementById('tab-models').getBoundingClientRect();
              return {
                scroll: t.scrollWidth,
                client: t.clientWidth,
                buttons,
                width: innerWidth,
                pageScroll: document.documentElement.scrollWidth,
                tab: { left: r.left, right: r.right },
                nav: { left: n.left, right: n.right, scroll: nav.scrollWidth, client: nav.clientWidth },
                cue: getComputedStyle(nav).backgroundImage,
              };
            });
            await shot(page, 'look-phone-models');
            const off = m.buttons.filter((b) => b.left < 0 || b.right > Math.min(m.width, m.client + 20));
            assert(m.scroll <= m.client + 1, `the Models table is ${m.scroll} px wide in ${m.client} px (it scrolls sideways)`);
            const offList = off.map((b) => `${b.text} at ${b.left.toFixed(0)}–${b.right.toFixed(0)}`).join(', ');
            assert(m.buttons.length >= 6 && off.length === 0, `buttons out of view: ${offList} (width ${m.width})`);
            assert(m.pageScroll <= m.width, `the page scrolls sideways (${m.pageScroll} px)`);
            assert(
              m.tab.left >= m.nav.left && m.tab.right <= m.nav.right,
              `the selected tab Models is at ${m.tab.left.toFixed(0)}–${m.tab.right.toFixed(0)}, ` +
                `the strip ${m.nav.left.toFixed(0)}–${m.nav.right.toFixed(0)}`,
            );
            // the strip scrolls and says so (a shadow at the edge with more tabs)
            assert(
              m.nav.scroll > m.nav.client && /gradient/.test(m.cue),
              `the tab strip (${m.nav.scroll} in ${m.nav.client} px) has no cue that it scrolls`,
            );
          },
        ],
      ]
    : [];
