// Backend choices measured earlier, by adapter name (localStorage; none where it is unavailable),
// so that a later visit on the same adapter does not probe again.
const CHOICES_KEY = 'vae-lab-backend-choice';

export function rememberedChoices() {
  try {
    return JSON.parse(localStorage.getItem(CHOICES_KEY) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

export function rememberChoice(choice) {
  try {
    localStorage.setItem(CHOICES_KEY, JSON.stringify({ ...rememberedChoices(), [choice.adapter]: choice }));
  } catch {
    /* private mode or storage off: measure again next time */
  }
}
