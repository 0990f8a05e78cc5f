// Save: the report as one self-contained HTML file. Every canvas (digits, bars, the uPlot charts)
// becomes an <img> of its pixels, the style sheets are inlined, scripts and controls are left out,
// and a strict Content-Security-Policy (no scripts, no network: data: images and inline styles
// only) makes the file show the same figures anywhere, offline.
import { saveBlob } from '../ui.js';

const SAVED_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** The report as it is on screen, as the text of a self-contained HTML document. */
export async function reportHtml(doc = document) {
  const clone = doc.documentElement.cloneNode(true);
  const live = [...doc.querySelectorAll('canvas')];
  [...clone.querySelectorAll('canvas')].forEach((c, i) => {
    const img = doc.createElement('img');
    img.src = live[i].toDataURL('image/png');
    img.alt = live[i].getAttribute('aria-label') ?? '';
    img.className = live[i].className;
    img.width = live[i].width;
    img.height = live[i].height;
    if (live[i].style.cssText) img.style.cssText = live[i].style.cssText;
    c.replaceWith(img);
  });
  let css = '';
  for (const link of doc.querySelectorAll('link[rel="stylesheet"]')) {
    css += `${await (await fetch(link.href)).text()}\n`;
  }
  for (const n of clone.querySelectorAll('script, link, .no-save, meta[http-equiv]')) n.remove();
  const head = clone.querySelector('head');
  const meta = doc.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = SAVED_CSP;
  head.prepend(meta);
  const style = doc.createElement('style');
  style.textContent = css.replace(/url\([^)]*\)/g, 'none'); // no fonts or images fetched
  head.append(style);
  clone.querySelector('body')?.setAttribute('data-saved', new Date().toISOString());
  return `<!doctype html>\n${clone.outerHTML}`;
}

/** Download the report as vae-lab-report.html. */
export async function saveReport() {
  saveBlob(new Blob([await reportHtml()], { type: 'text/html' }), 'vae-lab-report.html');
}
