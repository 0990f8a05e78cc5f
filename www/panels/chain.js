// Chain (Fig. 10–14): 60 fixed-point chains x 100 steps (encode, sample, decode, sample),
// animated with play/pause/step/scrub/speed; the last frame stays as the limiting distribution.
import { el, drawDigits, labelled, saveBlob } from '../ui.js';

const N = 60;
const STEPS = 100;

export default {
  id: 'chain',
  create(app) {
    const { lab } = app;
    const canvas = el('canvas', { id: 'chain-canvas', class: 'grid', role: 'img', 'aria-label': 'fixed-point chains' });
    const startFrom = el('select', { id: 'chain-start' }, el('option', { value: 'prior' }, 'z ~ N(0, I)'), el('option', { value: 'drawn' }, 'the drawn digit'));
    const seed = el('input', { id: 'chain-seed', type: 'number', min: 0, value: Math.max(0, Math.floor(Number(app.param('seed')) || 0)) });
    const scrub = el('input', { id: 'chain-scrub', type: 'range', min: 0, max: STEPS, value: 0, 'aria-label': 'chain step' });
    const speed = el('select', { id: 'chain-speed' }, ...[['5', '5 steps/s'], ['10', '10 steps/s'], ['25', '25 steps/s'], ['60', '60 steps/s']].map(([v, t]) => el('option', { value: v }, t)));
    speed.value = '10';
    if (app.param('start') === 'drawn') startFrom.value = 'drawn';
    /** The frame a shared link opens on (it plays from there). */
    let wantFrame = Math.max(0, Math.min(STEPS, Math.floor(Number(app.param('step')) || 0)));
    const play = el('button', { id: 'chain-play', disabled: true }, 'Play');
    const step = el('button', { id: 'chain-step', disabled: true }, 'Step');
    const caption = el('p', { class: 'muted', id: 'chain-caption' }, 'Run the chains to see where repeated encoding and decoding leads.');
    let frames = null;
    let timer = null;
    let at = 0;

    function showFrame(i) {
      if (!frames) return;
      at = Math.max(0, Math.min(STEPS, i));
      drawDigits(canvas, frames[at], N, 10);
      scrub.value = String(at);
      canvas.dataset.frame = String(at);
      if (!timer) app.setParam('step', at || null);
      caption.textContent = at === STEPS
        ? `Step ${STEPS} of ${STEPS}: the limiting distribution of model ${lab.current} (as far as ${STEPS} steps show it).`
        : `Step ${at} of ${STEPS}.`;
    }

    function stopPlaying() {
      clearInterval(timer);
      timer = null;
      play.textContent = 'Play';
      if (frames) app.setParam('step', at || null);
    }

    function startPlaying() {
      if (at >= STEPS) showFrame(0);
      play.textContent = 'Pause';
      timer = setInterval(() => {
        showFrame(at + 1);
        if (at >= STEPS) stopPlaying();
      }, 1000 / Number(speed.value));
    }

    play.addEventListener('click', () => (timer ? stopPlaying() : startPlaying()));
    step.addEventListener('click', () => { stopPlaying(); showFrame(at + 1); });
    scrub.addEventListener('input', () => { stopPlaying(); showFrame(Number(scrub.value)); });
    speed.addEventListener('change', () => { if (timer) { stopPlaying(); startPlaying(); } });

    async function run() {
      if (!lab.current) return;
      stopPlaying();
      let start;
      if (startFrom.value === 'drawn') {
        if (!app.drawn) {
          app.say('Draw a digit in the Draw panel first, or start from the prior.', 'warn');
          return;
        }
        start = app.drawn;
      }
      runButton.disabled = true;
      caption.textContent = `Running ${N} chains for ${STEPS} steps…`;
      await app.guard(async () => {
        const s = Math.max(0, Math.floor(Number(seed.value) || 0));
        frames = await lab.chain(N, STEPS, s, { start });
        app.setParam('seed', s);
        app.setParam('start', startFrom.value === 'drawn' ? 'drawn' : null);
        play.disabled = step.disabled = gif.disabled = false;
        if (wantFrame) {
          // a shared link: show the frame it names, paused
          showFrame(wantFrame);
          wantFrame = 0;
        } else {
          showFrame(0);
          startPlaying();
        }
      });
      runButton.disabled = false;
    }

    const runButton = el('button', { class: 'primary', id: 'chain-run', onclick: run }, 'Run chains');
    /** The whole animation as a looping GIF, 2x (every digit 56 px), at the chosen speed. */
    async function saveGif() {
      if (!frames) return;
      await app.guard(async () => {
        const { encodeGif } = await import('../gif.js');
        const tmp = document.createElement('canvas');
        const scale = 2;
        const gray = frames.map((f) => {
          drawDigits(tmp, f, N, 10);
          const { width: w, height: h } = tmp;
          const d = tmp.getContext('2d').getImageData(0, 0, w, h).data;
          const g = new Uint8Array(w * scale * h * scale);
          for (let y = 0; y < h * scale; y++) {
            for (let x = 0; x < w * scale; x++) g[y * w * scale + x] = d[(Math.floor(y / scale) * w + Math.floor(x / scale)) * 4];
          }
          return g;
        });
        const delay = Math.round(100 / Number(speed.value));
        const bytes = encodeGif(gray, tmp.width * scale, tmp.height * scale, gray.map((_, i) => (i === STEPS ? 200 : delay)));
        saveBlob(new Blob([bytes], { type: 'image/gif' }), `chain-${lab.current}-seed${seed.value}.gif`);
        gif.dataset.bytes = String(bytes.length);
      });
    }
    const gif = el('button', { id: 'chain-gif', disabled: true, onclick: saveGif, title: 'Save the animation as a looping GIF' }, 'Save GIF');
    lab.on('current', () => { frames = null; if (app.isVisible('chain')) run(); });
    const root = el('div', {},
      el('div', { class: 'row' }, labelled('Start from', startFrom), labelled('Seed', seed), runButton),
      el('div', { class: 'row' }, play, step, scrub, labelled('Speed', speed), gif),
      canvas, caption);
    return { root, show: () => { if (!frames) run(); }, figure: () => (frames ? { canvas, name: `chain-${lab.current}-seed${seed.value}-step${at}` } : null) };
  },
};
