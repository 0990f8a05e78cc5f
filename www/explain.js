// "What am I looking at?": a short explanation and the formula behind each panel. The maths is
// typeset by KaTeX (vendored, loaded the first time an explanation is opened).
import { el } from './ui.js';

/** Per panel: paragraphs, each a list of plain strings and {tex} pieces; `display`: formulas on their own line. */
export const EXPLANATIONS = {
  draw: {
    text: [
      'The encoder turns your drawing x into a Gaussian over the 12 latents: a mean and a standard deviation per ' +
        'latent (the bars: blue the mean, red ± one standard deviation). The two reconstructions decode the mean, and ' +
        'one random draw from that Gaussian.',
    ],
    display: [
      String.raw`q_\phi(z\mid x)=\mathcal N\big(\mu_\phi(x),\ \operatorname{diag}\sigma^2_\phi(x)\big),\qquad z=\mu+\sigma\odot` +
        String.raw`\varepsilon,\ \ \varepsilon\sim\mathcal N(0,I)`,
    ],
  },
  inside: {
    text: [
      "One digit's path through the model, left to right: the encoder's layers (white: 0, blue: large), the mean " +
        "and log-variance of q(z|x), the noise ε that picks one code z, the decoder's layers, and the decoder mean x̂. " +
        'Below, the two terms of the loss for this digit and this ε; they add up to its nELBO. Red cells are negative, ' +
        'blue positive.',
    ],
    display: [
      String.raw`z=\mu+\sigma\odot\varepsilon,\quad \sigma=e^{\frac12\log\sigma^2},\qquad \text{nELBO}(x)=\underbrace{-\log p_` +
        String.raw`\theta(x\mid z)}_{\text{reconstruction}}+\underbrace{\textstyle\sum_i \mathrm{KL}_i}_{\text{KL}}`,
    ],
  },
  sample: {
    text: [
      'Codes are drawn from the prior and decoded. The grid shows the decoder means, not noisy draws from p(x|z): ' +
        'adding the learned noise σ to every pixel would only add static.',
    ],
    display: [String.raw`z\sim p(z)=\mathcal N(0,I),\qquad p_\theta(x\mid z)=\mathcal N\big(\hat x_\theta(z),\ \sigma^2 I\big)`],
  },
  reconstruct: {
    text: [
      'Each held-out digit is encoded, a code is drawn from q(z|x) (or its mean is taken), and the decoder mean is ' +
        'shown. Blurry rows are models that keep less about x in z.',
    ],
    display: [String.raw`\hat x=\hat x_\theta(z),\qquad z\sim q_\phi(z\mid x)\ \ \text{or}\ \ z=\mu_\phi(x)`],
  },
  chain: {
    text: [
      'Encode, sample, decode, sample, again and again. The chain forgets where it started; where it settles shows ' +
        'which digits the model finds most typical (its limiting distribution).',
    ],
    display: [
      String.raw`z_t\sim q_\phi(z\mid x_t),\qquad x_{t+1}\sim p_\theta(x\mid z_t)=\mathcal N\big(\hat x_\theta(z_t),\ ` +
        String.raw`\sigma^2 I\big)`,
    ],
  },
  latent: {
    text: [
      "Start from a digit's code and move one latent at a time: latents that change nothing have collapsed. The " +
        'strip decodes points on the straight line between two codes.',
    ],
    display: [String.raw`\hat x_\theta\big(\mu_a+t\,e_i\big),\qquad \hat x_\theta\big((1-t)\,\mu_a+t\,\mu_b\big),\ \ t\in[0,1]`],
  },
  map: {
    text: [
      "Each dot is a held-out digit's code mean, projected onto the two directions in which the codes vary most " +
        '(principal components). Digits of one class clustering together means the code carries the class.',
      'A click anywhere decodes that place: the point (a, b) of the plane is the code μ̄ + a·PC₁ + b·PC₂, and the ' +
        'decoder draws it (drag to walk across the map). With two latents the plane is the whole latent space. ' +
        'A digit you drew shows as a black diamond where its code lands.',
    ],
    display: [String.raw`\text{PC}_{1,2}=\text{top eigenvectors of }\operatorname{Cov}_x\big[\mu_\phi(x)\big]`],
  },
  collapse: {
    text: [
      'For each latent, how many nats it carries about x on average. A latent at KL ≈ 0 is ignored by the decoder and ' +
        'copies the prior: posterior collapse. Active units count latents whose mean still moves with x.',
    ],
    display: [
      String.raw`\mathrm{KL}_i=\mathbb E_x\Big[\tfrac12\big(\mu_i^2+\sigma_i^2-1-\log\sigma_i^2\big)\Big],\qquad ` +
        String.raw`\text{active: }\operatorname{Var}_x\,\mathbb E_q[z_i]>0.01`,
    ],
  },
  data: {
    text: [
      'The images every panel shows and every new run trains on. A VAE learns p(x) from examples alone: on ' +
        'Fashion-MNIST the same models learn shoes and shirts; on your own pictures, whatever they hold. With a few ' +
        'dozen images a model learns little more than their average: expect blurry samples, and a held-out nELBO far ' +
        'above the training one (overfitting).',
    ],
    display: [
      String.raw`\mathcal D=\{x_1,\dots,x_N\},\ x_n\in[0,1]^{784},\qquad \max_{\theta,\phi}\ \tfrac1N\textstyle\sum_n ` +
        String.raw`\mathrm{ELBO}(x_n)`,
    ],
  },
  train: {
    text: [
      'Adam minimises the negative ELBO per image, in nats. β weights the KL term (β = 1 is the ELBO; larger β pushes ' +
        'codes towards the prior and switches latents off); the charts always show the true nELBO.',
    ],
    display: [
      String.raw`\mathcal L_\beta(x)=\mathbb E_{q_\phi(z\mid x)}\big[-\log p_\theta(x\mid z)\big]+\beta\,\mathrm{KL}\big(q_` +
        String.raw`\phi(z\mid x)\,\|\,\mathcal N(0,I)\big)`,
      String.raw`-\log p_\theta(x\mid z)=\sum_{j=1}^{784}\Big[\log\sigma+\tfrac12\log 2\pi+\frac{(x_j-\hat x_j)^2}{2\sigma^2}` +
        String.raw`\Big]`,
    ],
  },
  models: {
    text: [
      'The nELBO is an upper bound on −log p(x). With more samples from q(z|x), importance sampling tightens it ' +
        'towards the true likelihood (lab.evaluate({importanceSamples: K}); K = 1 is the ELBO).',
    ],
    display: [
      String.raw`\log p_\theta(x)\ \ge\ \mathbb E\Big[\log\frac1K\sum_{k=1}^K\frac{p_\theta(x\mid z_k)\,p(z_k)}{q_\phi(z_k` +
        String.raw`\mid x)}\Big]\ \ge\ -\mathcal L_1(x)`,
    ],
  },
};

const CSS = new URL('./vendor/katex.min.css', import.meta.url).href;
let katex = null;

/** A collapsed "What am I looking at?" for panel `id`; typesets its formulas when first opened. */
export function explanation(id) {
  const e = EXPLANATIONS[id];
  if (!e) return null;
  const body = el('div', { class: 'explain-body' }, ...e.text.map((t) => el('p', {}, t)));
  const formulas = e.display.map(() => el('div', { class: 'formula', role: 'math' }));
  body.append(...formulas);
  const box = el('details', { class: 'explain', id: `explain-${id}` }, el('summary', {}, 'What am I looking at?'), body);
  box.addEventListener('toggle', async () => {
    if (!box.open || box.dataset.typeset) return;
    // fonts must be declared in the document (a shadow root's @font-face is ignored), the
    // styles also where the formula is (inside a <vae-lab> element's shadow root)
    if (!document.querySelector(`link[href="${CSS}"]`)) document.head.append(el('link', { rel: 'stylesheet', href: CSS }));
    body.prepend(el('link', { rel: 'stylesheet', href: CSS }));
    try {
      katex ??= (await import('./vendor/katex.esm.js')).default;
      e.display.forEach((tex, i) => katex.render(tex, formulas[i], { displayMode: true, throwOnError: false, output: 'htmlAndMathml' }));
      box.dataset.typeset = 'true';
    } catch (err) {
      e.display.forEach((tex, i) => {
        formulas[i].textContent = tex;
      });
      box.dataset.typeset = `failed: ${err.message}`;
    }
  });
  return box;
}
