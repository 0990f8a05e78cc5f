// A live chart's series whose cost per update stays flat however long a run goes on: at most
// 2 × `max` points are kept. When that is reached, neighbouring pairs merge into their mean and
// from then on every kept point is the mean of twice as many incoming ones, so the series spans
// the whole run at one even resolution. (A 10-minute run sends ~15,000 chunks; drawing all of
// them on every update made the page's script time per minute grow fivefold.)

const mean = (a, b, wa, wb) =>
  a.map((v, k) => {
    const u = b[k];
    if (v === null || v === undefined) return u ?? null;
    if (u === null || u === undefined) return v;
    return (v * wa + u * wb) / (wa + wb);
  });

export class DecimatedSeries {
  constructor(max = 1000) {
    this.max = max;
    /** The points to draw: [x, y1, y2, ...]. */
    this.points = [];
    /** Incoming points per kept point. */
    this.stride = 1;
    /** Incoming points merged into the last kept point so far. */
    this.filled = 0;
  }

  /** Add one incoming point ([x, ...ys]; null for a missing value). */
  push(point) {
    if (this.filled > 0 && this.filled < this.stride) {
      // the last kept point is still filling: it becomes the mean of what it has seen
      const last = this.points.length - 1;
      this.points[last] = mean(this.points[last], point, this.filled, 1);
      this.filled++;
      return;
    }
    this.points.push(point.slice());
    this.filled = 1;
    if (this.points.length < 2 * this.max) return;
    // full: pairs merge, and kept points cover twice as many incoming ones from now on
    const p = this.points;
    const half = p.length >> 1;
    for (let i = 0; i < half; i++) p[i] = mean(p[2 * i], p[2 * i + 1], 1, 1);
    p.length = half;
    this.stride *= 2;
    this.filled = this.stride; // the last kept point is complete
  }
}
