// VAE Lab's ES-module API. Everything runs in a Web Worker; this module only validates input
// and forwards. The page installs the same object as `window.vaeLab`.
//
//   import { createVaeLab } from './www/vaelab.js';
//   const lab = createVaeLab();            // or createVaeLab({ backend: 'cpu' })
//   await lab.ready;                        // lab.backend is now 'webgpu' or 'cpu'
//   await lab.loadPretrained('C');
//   const { mu, logvar } = await lab.encode(pixels);   // pixels: 784 floats in [0,1], row-major 28x28
//
// Pixels are always 784 floats in [0, 1] per image, row-major 28 x 28. Importing this module also
// defines the <vae-lab> element (element.js).
//
// The API is assembled in lab/: create.js (the facade: createVaeLab), transport.js (the Worker,
// requests, restart after a crash), storage.js (confirmed writes, what storage refused), models.js
// (slots, weights files), inference.js, datasets.js (shipped and own, merged across tabs),
// digits.js (the deprecated digitFile, kept for compatibility: the engine writes digit files),
// runs.js and run-handle.js (training runs, run names across tabs), locks.js (Web Locks),
// choices.js (remembered backend choices), view.js (a current model per element), shared.js (the
// page's one engine: sharedVaeLab).

export { PIXELS, checkSlot, SHIPPED_DATASETS, shippedSlot } from './lab/input.js';
/** @deprecated the engine writes the page's digit files (`Lab.digitsFile`); kept for compatibility */
export { digitFile } from './lab/digits.js';
export { createVaeLab } from './lab/create.js';
export { sharedVaeLab } from './lab/shared.js';
import './element.js';
