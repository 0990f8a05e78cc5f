// Chain (Fig. 10–14): 60 fixed-point chains x 100 steps (encode, sample, decode, sample),
// animated with play/pause/step/scrub/speed; the last frame stays as the limiting distribution.
import { el, drawDigits, labelled, saveBlob } from '../ui.js';

const N = 60;
const STEPS = 100;
/** The saved GIF: every second step (half the frames, the same motion), at twice the size, with a
 *  band of COUNTER_H px under the grid for the step counter. */
const GIF_STRIDE = 2;
const GIF_SCALE = 2;
const COUNTER_H = 24;

export default {
  id: 'chain',
  create(app) {
    const { lab } = app;
    const canvas = el('canvas', { id: 'chain-canvas', class: 'grid', role: 'img', 'aria-label': 'fixed-point chains' });
    const startFrom = el(
      'select',
      { id: 'chain-start' },
      el('option', { value: 'prior' }, 'z ~ N(0, I)'),
      el('option', { value: 'drawn' }, 'the drawn digit'),
    );
    const seed = el('input', { id: 'chain-seed', type: 'number', min: 0, value: Math.max(0, Math.floor(Number(app.param('seed')) || 0)) });
    const scrub = el('input', { id: 'chain-scrub', type: 'range', min: 0, max: STEPS, value: 0, 'aria-label': 'chain step' });
    const speed = el(
      'select',
      { id: 'chain-speed' },
      ...[
        ['5', '5 steps/s'],
        ['10', '10 steps/s'],
        ['25', '25 steps/s'],
        ['60', '60 steps/s'],
      ].map(([v, t]) => el('option', { value: v }, t)),
    );
    speed.value = '10';
    if (app.param('start') === 'drawn') startFrom.value = 'drawn';
    /** Until the first run: the start the link named (it may name a drawing this page lacks). */
    let fromLink = startFrom.value === 'drawn';
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
      caption.textContent =
        at === STEPS
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
      timer = setInterval(
        () => {
          showFrame(at + 1);
          if (at >= STEPS) stopPlaying();
        },
        1000 / Number(speed.value),
      );
    }

    play.addEventListener('click', () => (timer ? stopPlaying() : startPlaying()));
    step.addEventListener('click', () => {
      stopPlaying();
      showFrame(at + 1);
    });
    scrub.addEventListener('input', () => {
      stopPlaying();
      showFrame(Number(scrub.value));
    });
    speed.addEventListener('change', () => {
      if (timer) {
        stopPlaying();
        startPlaying();
      }
    });

    async function run() {
      if (!lab.current) return;
      stopPlaying();
      let start;
      if (startFrom.value === 'drawn' && !app.drawn && fromLink) {
        // a link to chains from a drawing, opened where nothing is drawn: the prior's chains, and
        // one message saying why
        startFrom.value = 'prior';
        app.say(
          'This link shows chains from a drawn digit, but nothing is drawn on this page yet: ' +
            'showing chains from z ~ N(0, I) instead. Draw a digit in the Draw panel, then choose ' +
            "'the drawn digit' here to chain from it.",
          'warn',
        );
      }
      fromLink = false;
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
    /** The whole animation as a looping GIF: 2x (every digit 56 px), every GIF_STRIDE-th step at
     *  the chosen speed, 15 gray levels, a step counter under the grid (about 1 MB; 5 MB with
     *  every step in 256 levels). */
    async function saveGif() {
      if (!frames) return;
      await app.guard(async () => {
        const { encodeGif } = await import('../gif.js');
        const grid = document.createElement('canvas');
        const frame = document.createElement('canvas');
        const ctx = frame.getContext('2d', { willReadFrequently: true });
        const steps = [];
        for (let i = 0; i <= STEPS; i += GIF_STRIDE) steps.push(i);
        if (steps[steps.length - 1] !== STEPS) steps.push(STEPS);
        const gray = steps.map((i) => {
          drawDigits(grid, frames[i], N, 10);
          frame.width = grid.width * GIF_SCALE;
          frame.height = grid.height * GIF_SCALE + COUNTER_H;
          ctx.fillStyle = '#000';
          ctx.fillRect(0, 0, frame.width, frame.height);
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(grid, 0, 0, frame.width, grid.height * GIF_SCALE);
          ctx.fillStyle = '#fff';
          ctx.font = `${COUNTER_H - 8}px sans-serif`;
          ctx.textBaseline = 'middle';
          ctx.textAlign = 'left';
          ctx.fillText(`step ${i} / ${STEPS}`, 8, frame.height - COUNTER_H / 2);
          ctx.textAlign = 'right';
          ctx.fillText(`model ${lab.current}, seed ${seed.value}`, frame.width - 8, frame.height - COUNTER_H / 2);
          const d = ctx.getImageData(0, 0, frame.width, frame.height).data;
          const g = new Uint8Array(frame.width * frame.height);
          for (let p = 0; p < g.length; p++) g[p] = d[p * 4];
          return g;
        });
        const delay = Math.round((100 * GIF_STRIDE) / Number(speed.value));
        const bytes = encodeGif(
          gray,
          frame.width,
          frame.height,
          steps.map((i) => (i === STEPS ? 200 : delay)),
        );
        saveBlob(new Blob([bytes], { type: 'image/gif' }), `chain-${lab.current}-seed${seed.value}.gif`);
        gif.dataset.bytes = String(bytes.length);
        gif.dataset.frames = String(steps.length);
        app.say(
          `Saved chain-${lab.current}-seed${seed.value}.gif (${steps.length} ` +
            `frames, every second step, ${(bytes.length / 1e6).toFixed(1)} MB).`,
        );
      });
    }
    const gif = el(
      'button',
      {
        id: 'chain-gif',
        disabled: true,
        onclick: saveGif,
        title: 'Save the animation as a looping GIF (every second step, with a step counter)',
      },
      'Save GIF',
    );
    lab.on('current', () => {
      frames = null;
      if (app.isVisible('chain')) run();
    });
    const root = el(
      'div',
      {},
      el('div', { class: 'row' }, labelled('Start from', startFrom), labelled('Seed', seed), runButton),
      el('div', { class: 'row' }, play, step, scrub, labelled('Speed', speed), gif),
      canvas,
      caption,
    );
    return {
      root,
      show: () => {
        if (!frames) run();
      },
      figure: () => (frames ? { canvas, name: `chain-${lab.current}-seed${seed.value}-step${at}` } : null),
    };
  },
};
