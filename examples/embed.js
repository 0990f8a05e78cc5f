// The scripted half of examples/embed.html (a file of its own: the app's Content-Security-Policy
// allows no inline script). On a course page elsewhere, import from the app's full address.
import { sharedVaeLab } from '../www/vaelab.js';

// 1. the iframe reports its content height: size it to fit, without scrollbars
window.addEventListener('message', (e) => {
  if (e.data?.type !== 'vae-lab:resize') return;
  for (const frame of document.querySelectorAll('iframe')) {
    if (frame.contentWindow === e.source) frame.style.height = `${e.data.height + 2}px`;
  }
});

// 3. the API: a canvas of the page's own
const status = document.getElementById('api-status');
try {
  // the page's shared engine: the one its <vae-lab> elements use (one Worker, one download)
  const lab = sharedVaeLab();
  await lab.ready;
  await lab.loadPretrained('C');
  const digits = await lab.sample(8, 7);
  const canvas = document.getElementById('api-samples');
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  digits.forEach((d, k) => {
    for (let i = 0; i < 784; i++) {
      const v = Math.round(d[i] * 255);
      const o = ((1 + Math.floor(i / 28)) * canvas.width + 1 + k * 29 + (i % 28)) * 4;
      img.data.set([v, v, v, 255], o);
    }
  });
  ctx.putImageData(img, 0, 0);
  canvas.dataset.drawn = 'true';
  status.textContent = `Drawn on ${lab.backend === 'webgpu' ? 'WebGPU' : 'the CPU'} by model C.`;
} catch (e) {
  status.textContent = `VAE Lab could not run here: ${e.message}`;
}
