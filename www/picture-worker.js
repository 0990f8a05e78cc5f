// Decodes the visitor's pictures off the page's thread (images.js starts it): a picture in,
// its ink (a small grey image, transferred) out. The size was checked from the header already.
import { decodeInk } from './images.js';

self.onmessage = async ({ data: { id, blob, limits } }) => {
  if (typeof OffscreenCanvas === 'undefined') {
    self.postMessage({ id, fallback: true }); // an older browser: the page decodes itself
    return;
  }
  try {
    const r = await decodeInk(blob, limits); // limits: the engine's (maxPictureSide)
    self.postMessage({ id, ...r }, [r.gray.buffer]);
  } catch (e) {
    self.postMessage({ id, error: e?.message ?? String(e) });
  }
};
