// The guided start (issue 22 item 1): five short steps through the panels, in the style of CNN
// Explainer: draw a digit and see q(z|x), sample, run the chains, train, make latents collapse.
// The header's Tour button starts it (a first visit marks the button); a lecturer links straight
// into it with ?tour=1, or to any step with ?tour=K, and the address follows the step, so Copy link
// shares the step on screen. Skippable at every step; Back, Next and Skip are buttons, so the
// keyboard alone goes through it (Next has the focus at each step: Enter, Enter, … Finish).
import { el } from './ui.js';

/** The steps: the panel each opens, the element it points at, what it says. */
export const TOUR_STEPS = [
  {
    panel: 'draw',
    target: '#draw-canvas',
    title: 'Draw a digit: the encoder answers with q(z|x)',
    text:
      'Draw any digit on the black pad (or press "Use a held-out digit"). The encoder turns it into a Gaussian ' +
      "q(z|x) over 12 latent numbers: the bars show each one's mean and spread, and the decoder draws it back from them.",
  },
  {
    panel: 'sample',
    target: '#sample-canvas',
    title: 'Sample: the decoder alone',
    text:
      "Each of these 60 digits is the decoder's mean for a code z drawn from the prior N(0, I); no image went in. " +
      "Resample for others, or pick another model at the top: in the report, B's look most like digits.",
  },
  {
    panel: 'chain',
    target: '#chain-run',
    title: 'Run the chains: encode, sample, decode, sample, …',
    text:
      'Run chains repeats "add the decoder\'s noise, encode, draw z, decode" from 60 starts. Where the digits settle ' +
      "is the chain's limiting distribution: in the report, all of model A's chains end in one round shape.",
  },
  {
    panel: 'train',
    target: '#train-start',
    title: 'Train a model in this page',
    text:
      'Start trains the chosen architecture by Adam on the negative ELBO, here in your browser; the curves fill in as it ' +
      'learns. Pause, Step and Stop work at any moment, and a reload picks the run up again.',
  },
  {
    panel: 'train',
    target: '#train-preset-collapse',
    title: 'Make latents collapse',
    text:
      'The collapse demo trains model C twice, with the KL term weighted 16 times and once. Heavy weight pushes ' +
      'latents to the prior: the Collapse panel then shows how many stay active in each.',
  },
];

/** A step number from a link (1-based), or null: out of range or not a whole number. */
export function tourStep(raw) {
  const k = Number(raw);
  return Number.isInteger(k) && k >= 1 && k <= TOUR_STEPS.length ? k : null;
}

const SEEN = 'vae-lab-tour-seen';
/** Whether this browser has seen (finished or skipped) the tour. */
export const tourSeen = () => {
  try {
    return localStorage.getItem(SEEN) === '1';
  } catch {
    return true; // no storage (a sandboxed frame): offer nothing that cannot be remembered
  }
};

/**
 * Run the tour from step `start` (1-based): `show(panel)` brings a panel into view (a promise),
 * `setStep(k | null)` keeps the step in the address. Returns a function that ends it.
 */
export function startTour({ start = 1, show, setStep }) {
  document.getElementById('tour')?.remove();
  let k = start;
  let marked = null;
  const counter = el('p', { class: 'tour-count', id: 'tour-count' });
  const title = el('h2', { id: 'tour-title' });
  const text = el('p', { id: 'tour-text' });
  const back = el('button', { id: 'tour-back', onclick: () => go(k - 1) }, 'Back');
  const next = el('button', { id: 'tour-next', class: 'primary', onclick: () => (k < TOUR_STEPS.length ? go(k + 1) : end()) });
  const skip = el('button', { id: 'tour-skip', onclick: () => end() }, 'Skip tour');
  const box = el(
    'aside',
    { id: 'tour', class: 'tour', role: 'dialog', 'aria-labelledby': 'tour-title', 'aria-describedby': 'tour-text' },
    counter,
    title,
    text,
    el('div', { class: 'row' }, back, next, skip),
  );
  document.body.append(box);
  const onKey = (e) => {
    if (e.key === 'Escape' && box.contains(document.activeElement)) end();
  };
  document.addEventListener('keydown', onKey);

  async function go(step) {
    k = Math.max(1, Math.min(TOUR_STEPS.length, step));
    const s = TOUR_STEPS[k - 1];
    counter.textContent = `Step ${k} of ${TOUR_STEPS.length}`;
    title.textContent = s.title;
    text.textContent = s.text;
    back.disabled = k === 1;
    next.textContent = k === TOUR_STEPS.length ? 'Finish' : 'Next';
    box.dataset.step = String(k);
    setStep(k);
    next.focus();
    marked?.classList.remove('tour-target');
    await show(s.panel);
    if (box.dataset.step !== String(k)) return; // moved on while the panel loaded
    marked = document.querySelector(s.target);
    marked?.classList.add('tour-target');
    marked?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    if (!box.contains(document.activeElement)) next.focus();
  }

  function end() {
    marked?.classList.remove('tour-target');
    box.remove();
    document.removeEventListener('keydown', onKey);
    setStep(null);
    try {
      localStorage.setItem(SEEN, '1');
    } catch {
      // nowhere to remember it: the button keeps offering the tour
    }
    document.getElementById('tour-start')?.classList.remove('new');
  }

  go(k);
  return end;
}

/**
 * The page's side, once it is ready: the header's Tour `button` marked on a first visit, and a
 * link's `?tour=K` (`linked`, raw) started at step K through `start(k)`.
 */
export function offerTour({ button, linked, start, warn }) {
  button?.classList.toggle('new', !tourSeen());
  if (linked === null || linked === undefined) return;
  const k = tourStep(linked);
  if (k === null) warn(`The link's tour step '${String(linked).slice(0, 24)}' is not 1 to ${TOUR_STEPS.length}: starting at 1.`);
  start(k ?? 1);
}
