// The heap map: linear memory from the heap's start to the end of memory on a canvas, one
// rectangle per block of the debug flavor's block walk, in address order, row after row.
export const STATE_COLOURS = {
  free: '#7bd88f', binned: '#c6e96b', control: '#f2a541', top: '#e4e7ec', root: '#b4bccb',
};
/** Used blocks are coloured by the tag the page set when it allocated them. */
export const TAGS = {
  0: ['untagged', '#6b7a90'],
  1: ['allocate button', '#3d7ee0'],
  2: ['random workload', '#8e5bd6'],
  3: ['image filter', '#1aa6a6'],
  4: ['level loader', '#d9534f'],
  5: ['string demo', '#e0609f'],
  6: ['planted bug', '#222222'],
};
const SEGMENT_COLOURS = ['#333', '#d97706', '#0e7490', '#9333ea', '#be123c', '#15803d'];
/** The stripes of the discardable pages. */
export const HATCH_COLOUR = 'rgba(30, 64, 120, 0.45)';
/** The page size of the discardable shading: the OS's (4 KiB), as a host gives pages back. */
export const DISCARD_PAGE = 4096;

/**
 * The ranges of whole `page`-byte pages that the heap promises not to touch until it takes them
 * again, from the block walk, by the rule of `discardable` (src/core/discard.rs): inside a free or
 * binned block all but its first 12 bytes (size word, list links) and its last 4 (footer), and
 * from the top to the end of memory. The debug flavor's own `discardable` lists nothing (its
 * poison is checked on reuse): this is what the other flavors list for the same blocks.
 */
export function discardablePages(blocks, end, page = DISCARD_PAGE) {
  const ranges = [];
  const add = (lo, hi) => {
    const a = Math.ceil(lo / page) * page, b = Math.floor(hi / page) * page;
    if (a < b) ranges.push({ start: a, len: b - a });
  };
  for (const b of blocks) {
    if (b.state === 'free' || b.state === 'binned') add(b.address + 12, b.address + b.size - 4);
    if (b.state === 'top') add(b.address, end);
  }
  return ranges;
}

export class HeapMap {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.blocks = [];
    this.start = 0;
    this.end = 0;
    this.bytesPerPixel = 8;
    this.rowHeight = 18;
    this.rowGap = 6;
    this.selected = 0;
  }

  /** Draws `blocks` (the walk, address order); `start`: the heap's start, `end`: the end of memory;
   *  the discardable pages (`discardablePages`) hatched over them. */
  draw(blocks, start, end, selected = this.selected) {
    const discardable = discardablePages(blocks, end);
    Object.assign(this, { blocks, start, end, selected, discardable });
    const { canvas, ctx } = this;
    const width = canvas.width;
    const span = Math.max(1, end - start);
    // The smallest power of two bytes a pixel that keeps the map within 24 rows.
    let bpp = 1;
    while (span / (bpp * width) > 24) bpp *= 2;
    this.bytesPerPixel = bpp;
    const rows = Math.max(1, Math.ceil(span / (bpp * width)));
    const height = rows * (this.rowHeight + this.rowGap);
    if (canvas.height !== height) canvas.height = height;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#fbfbfc';
    ctx.fillRect(0, 0, width, height);
    // Before the first block: the heap's root (its counters, top, depth and table of segments).
    this.root = blocks.length && blocks[0].address > start ? { address: start, size: blocks[0].address - start, state: 'root' } : null;
    if (this.root) {
      this.#span(start, this.root.address + this.root.size, (x, y, w) => {
        ctx.fillStyle = STATE_COLOURS.root;
        ctx.fillRect(x, y, w, this.rowHeight);
      });
    }
    for (const b of blocks) {
      const colour = b.state === 'used' ? (TAGS[b.tag]?.[1] ?? '#3d7ee0') : STATE_COLOURS[b.state] ?? '#f0f';
      this.#span(b.address, b.address + b.size, (x, y, w) => {
        ctx.fillStyle = colour;
        ctx.fillRect(x, y, w, this.rowHeight);
        if (w >= 3 && b.state !== 'top') { // a line where each block starts
          ctx.fillStyle = 'rgba(255,255,255,0.85)';
          if (x === Math.floor((b.address - start) / bpp) % width) ctx.fillRect(x, y, 1, this.rowHeight);
        }
      });
      if (b.state === 'used' && b.ptr === selected) {
        this.#span(b.address, b.address + b.size, (x, y, w) => {
          ctx.strokeStyle = '#ffcc00'; ctx.lineWidth = 3; ctx.strokeRect(x + 1.5, y + 1.5, Math.max(1, w - 3), this.rowHeight - 3);
        });
      }
    }
    // Discardable pages: hatched, so that the state under them still shows.
    const hatch = this.#hatch();
    for (const r of discardable) {
      this.#span(r.start, r.start + r.len, (x, y, w) => {
        ctx.fillStyle = hatch;
        ctx.fillRect(x, y, w, this.rowHeight);
      });
    }
    // Segments: from one control block to the next (the last one to the top's start).
    const segments = [];
    for (const b of blocks) {
      if (b.state === 'control') segments.push({ start: b.address, end: 0, depth: b.depth });
      if (segments.length && b.state !== 'top') segments[segments.length - 1].end = b.address + b.size;
    }
    for (const s of segments) {
      ctx.strokeStyle = SEGMENT_COLOURS[s.depth % SEGMENT_COLOURS.length];
      ctx.lineWidth = 2;
      this.#span(s.start, s.end, (x, y, w) => {
        ctx.beginPath();
        ctx.moveTo(x, y + this.rowHeight + 2); ctx.lineTo(x + w, y + this.rowHeight + 2);
        ctx.stroke();
      });
      const [x, y] = this.#xy(s.start);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillRect(x, y - 1, 2, this.rowHeight + 5);
    }
    this.segments = segments;
  }

  /** Diagonal stripes, the pattern of the discardable pages. */
  #hatch() {
    if (!this.hatchPattern) {
      const tile = document.createElement('canvas');
      tile.width = tile.height = 6;
      const t = tile.getContext('2d');
      t.strokeStyle = HATCH_COLOUR;
      t.lineWidth = 1.5;
      t.beginPath(); t.moveTo(0, 6); t.lineTo(6, 0); t.stroke();
      this.hatchPattern = this.ctx.createPattern(tile, 'repeat');
    }
    return this.hatchPattern;
  }

  #xy(address) {
    const px = Math.floor((address - this.start) / this.bytesPerPixel);
    const w = this.canvas.width;
    return [px % w, Math.floor(px / w) * (this.rowHeight + this.rowGap)];
  }

  /** Calls `f(x, y, w)` for each row piece of the bytes [from, to). */
  #span(from, to, f) {
    const w = this.canvas.width;
    let a = Math.floor((from - this.start) / this.bytesPerPixel);
    const b = Math.max(a + 1, Math.floor((to - this.start) / this.bytesPerPixel));
    while (a < b) {
      const row = Math.floor(a / w);
      const x = a % w;
      const n = Math.min(b - a, w - x);
      f(x, row * (this.rowHeight + this.rowGap), n);
      a += n;
    }
  }

  /** The canvas pixel (x, y) of the middle of the first row piece of the bytes at `address`. */
  pointOf(address) {
    const [x, y] = this.#xy(address);
    return [x + 1, y + this.rowHeight / 2];
  }

  /** The block under canvas pixel (x, y), or null. */
  blockAt(x, y) {
    const pitch = this.rowHeight + this.rowGap;
    const row = Math.floor(y / pitch);
    if (y - row * pitch > this.rowHeight) return null;
    const address = this.start + (row * this.canvas.width + Math.floor(x)) * this.bytesPerPixel;
    let lo = 0, hi = this.blocks.length - 1, found = null;
    while (lo <= hi) { // the last block starting at or below the address
      const mid = (lo + hi) >> 1;
      if (this.blocks[mid].address <= address) { found = this.blocks[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    if (found && address < found.address + found.size) return found;
    if (this.root && address >= this.root.address && address < this.root.address + this.root.size) return this.root;
    // A block narrower than a pixel: the first one that starts within this pixel.
    const next = this.blocks[lo];
    if (next && next.address < address + this.bytesPerPixel) return next;
    return null;
  }
}
