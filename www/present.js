// Presentation mode, for a projector: `index.html?present=1` (and `<vae-lab present>`, see
// element-panel.js). One panel at a time with its figure as large as the screen allows and every
// text at least 24 px (style.css, "presentation mode"); the keyboard moves between panels, as a
// slide clicker does (its buttons send PageDown / PageUp), and Escape leaves.
import { el } from './ui.js';

/** The keys that move between panels: arrows, a clicker's page keys, Home and End. */
export const PRESENT_KEYS = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1, Home: -Infinity, End: Infinity };

/** Whether a key press belongs to what has focus (typing a seed, choosing in a list, the tab strip
 *  that moves by itself) rather than to the presentation. */
export function ownKeys(target) {
  const t = target?.closest ? target : null;
  if (!t) return false;
  // the drawing pad's own keys (Escape clears it) and the inputs' arrows stay theirs
  return t.isContentEditable || !!t.closest('input, select, textarea, [role="tablist"], [role="slider"], canvas.pad');
}

/** The panel `step` away from `current` in `ids` (clamped at the ends: a lecturer who presses
 *  once too often stays on the last panel instead of wrapping to the first). */
export function nextPanel(ids, current, step) {
  const i = ids.indexOf(current);
  if (step === -Infinity) return ids[0];
  if (step === Infinity) return ids[ids.length - 1];
  return ids[Math.max(0, Math.min(ids.length - 1, (i < 0 ? 0 : i) + step))];
}

/**
 * Start presenting the page: `ids` the panels in order, `current()` the one in view, `show(id)`
 * brings one into view, `leave()` ends presentation mode (the address loses `present`).
 */
export function presentPage({ ids, current, show, leave }) {
  document.documentElement.classList.add('present');
  const hint = el('p', { id: 'present-hint', class: 'present-hint', 'aria-live': 'polite' }, '← → panels · Esc leaves presentation');
  document.body.append(hint);
  const onKey = (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || ownKeys(e.target)) return;
    if (e.key === 'Escape') {
      document.documentElement.classList.remove('present');
      hint.remove();
      document.removeEventListener('keydown', onKey);
      leave();
      return;
    }
    const step = PRESENT_KEYS[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const id = nextPanel(ids, current(), step);
    if (id !== current()) show(id);
  };
  document.addEventListener('keydown', onKey);
}
