// The <vae-lab> element (README, "Embed as an element"): defined when vaelab.js is imported. Its
// code (the panels, charts and styles, in element-panel.js) loads only when the first one is
// connected.
//
//   <script type="module" src="https://your.host/vae-lab/www/vaelab.js"></script>
//   <vae-lab panel="sample" arch="B" seed="7"></vae-lab>
const panelCode = () => import('./element-panel.js');

if (typeof customElements !== 'undefined' && !customElements.get('vae-lab')) {
  customElements.define(
    'vae-lab',
    class VaeLabElement extends HTMLElement {
      static observedAttributes = ['panel', 'arch', 'seed', 'height', 'dataset', 'theme', 'present'];

      connectedCallback() {
        if (this._mounted) return;
        this._mounted = panelCode().then((m) => {
          m.applyHeight(this);
          m.applyTheme(this); // `theme` (light, dark, auto), else the page's own
          m.applyPresent(this); // `present`: presentation mode
          return m.mount(this);
        });
      }

      attributeChangedCallback(name, old, value) {
        if (!this._mounted || old === value || this._reflecting?.()) return;
        if (name === 'height' || name === 'theme' || name === 'present') {
          const apply = { height: 'applyHeight', theme: 'applyTheme', present: 'applyPresent' }[name];
          panelCode().then((m) => m[apply](this));
          return;
        }
        // another panel, or state set from outside: the panel on show must not write its older
        // state back (element-panel.js), and one remount follows the mount in progress, reading
        // the attributes as they are then, so the last value set wins; `arch` alone loads another
        // model
        const what = name === 'arch' ? 'arch' : 'mount';
        if (what === 'mount') this._mountToken = null;
        this._queued ??= new Set();
        if (this._queued.has(what)) return;
        this._queued.add(what);
        this._mounted = this._mounted
          .catch(() => {})
          .then(async () => {
            const m = await panelCode();
            this._queued.delete(what);
            if (what === 'arch' && this.lab) await m.setArch(this, this.getAttribute('arch'));
            else await m.mount(this);
          });
      }
    },
  );
}
