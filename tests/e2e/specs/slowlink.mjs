// A first visit over a slow link (issue 18 item 2): at 1.5 Mbit/s the page must be drawable soon
// (compressed serving) and the pad itself must say what it is waiting for, in bytes, honestly
// (never past 100%). CPU configuration only: the bytes are the same on both.
import { assert, drawSeven } from '../helpers.mjs';

export default (cfg, { url, shot }) =>
  cfg.name !== 'cpu'
    ? []
    : [
        [
          'At 1.5 Mbit/s the pad shows the download and takes a stroke within 12 s',
          async (page) => {
            const cdp = await page.context().newCDPSession(page);
            await cdp.send('Network.enable');
            // 1.5 Mbit/s down (187,500 bytes/s), 40 ms latency
            await cdp.send('Network.emulateNetworkConditions', {
              offline: false,
              latency: 40,
              downloadThroughput: 187_500,
              uploadThroughput: 96_000,
            });
            // what the pad showed while loading, and when a stroke on it was first encoded
            await page.addInitScript(() => {
              window.__padWait = { seen: [], maxShare: 0, encodedAt: null };
              new MutationObserver(() => {
                const pad = document.getElementById('draw-canvas');
                if (!pad) return;
                const w = window.__padWait;
                if (pad.dataset.loading !== undefined) {
                  const text = pad.dataset.loadingText ?? '';
                  if (w.seen.at(-1)?.text !== text) w.seen.push({ t: Math.round(performance.now()), share: pad.dataset.loading, text });
                  const share = Number(pad.dataset.loading);
                  if (Number.isFinite(share)) w.maxShare = Math.max(w.maxShare, share);
                  const m = /([\d.]+) \/ ([\d.]+) MB/.exec(text);
                  if (m && Number(m[1]) > Number(m[2])) w.maxShare = Math.max(w.maxShare, Number(m[1]) / Number(m[2]));
                }
                if (w.encodedAt === null && Number(pad.dataset.encoded ?? 0) > 0) w.encodedAt = performance.now();
              }).observe(document, {
                subtree: true,
                childList: true,
                attributes: true,
                attributeFilter: ['data-loading', 'data-loading-text', 'data-encoded'],
              });
            });
            await page.goto(`${url}index.html?panel=draw`);
            await page
              .waitForFunction(() => / \/ /.test(document.getElementById('draw-canvas')?.dataset.loadingText ?? ''), null, {
                timeout: 30_000,
              })
              .then(
                () => shot(page, 'slow-link-loading'),
                () => {},
              ); // asserted below
            // the pad takes input once the panels are no longer inert; draw at once
            await page.waitForFunction(() => document.getElementById('draw-canvas') && !document.getElementById('panels').inert, null, {
              timeout: 90_000,
            });
            await drawSeven(page);
            const w = await page.evaluate(() => window.__padWait);
            await shot(page, 'slow-link-drawn');
            await cdp.send('Network.emulateNetworkConditions', {
              offline: false,
              latency: 0,
              downloadThroughput: -1,
              uploadThroughput: -1,
            });
            const seconds = w.encodedAt / 1000;
            const shown = w.seen.filter((s) => /MB/.test(s.text));
            const stepRange = shown.length
              ? ` (${shown[0].text} at ${(shown[0].t / 1000).toFixed(1)} s … ` +
                `${shown.at(-1).text} at ${(shown.at(-1).t / 1000).toFixed(1)} s)`
              : '';
            console.log(
              `      1.5 Mbit/s: a stroke on the pad encoded ${seconds.toFixed(1)} s after navigation; ` +
                `the pad showed ${shown.length} progress steps${stepRange}`,
            );
            assert(
              shown.length >= 3 && shown.some((s) => /\d \/ [\d.]+ MB/.test(s.text)),
              `the pad showed no download progress in bytes: ${JSON.stringify(w.seen.slice(0, 5))}`,
            );
            assert(w.maxShare <= 1.0001, `the pad's progress went past 100%: ${w.maxShare}`);
            assert(seconds < 12, `the pad took a stroke only ${seconds.toFixed(1)} s after navigation (at most 12 s)`);
          },
        ],
      ];
