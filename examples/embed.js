// The API half of examples/embed.html (a file of its own: the page's Content-Security-Policy
// allows no inline script).
import { createVaeLab } from '../www/vaelab.js';
const status = document.getElementById('api-status');
try {
  const lab = createVaeLab();
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
