// A wall has nobody to scroll it. A list that does not fit its box is cut into pages measured from
// the real layout (whatever the screen, font and text), and the pages turn on their own.
//
// Markup: a box `[data-pages=KEY]` whose children are the units (an `h3` heading stays with the
// units after it, and comes back on top of a page that continues its section; render no heading
// for an empty section), and anywhere an element `[data-page-of=KEY]` that says "page 2 of 3".
// The box must get its height from the layout (flex: 1 1 0, or a fixed size), not its content.

export class Pager {
  constructor({ seconds, label }) {
    this.seconds = seconds;
    this.label = label; // (page, pages) => text
    this.at = new Map(); // key -> index of the page on screen
    this.count = new Map(); // key -> number of pages at the last layout
    this.wanted = new Map(); // key -> data-id of a unit to bring on screen at the next layout
    this.root = null;
    this.timer = null;
  }

  // Lay out every paged box under `root` again (after a redraw, a resize, or a font load).
  layout(root) {
    this.root = root;
    this.count.clear(); // only the boxes on screen now turn
    for (const box of root.querySelectorAll("[data-pages]")) this.paginate(box);
    if (!this.timer) this.schedule();
  }

  // Bring the unit with this data-id on screen at the next layout (something just changed on it).
  reveal(key, id) {
    this.wanted.set(key, String(id));
  }

  paginate(box) {
    const key = box.dataset.pages;
    const units = [...box.children];
    for (const unit of units) unit.hidden = false;
    const style = getComputedStyle(box);
    const room = box.clientHeight - parseFloat(style.paddingBlockStart) - parseFloat(style.paddingBlockEnd);
    const pages = pack(units, room, parseFloat(style.rowGap) || 0);
    let at = Math.min(this.at.get(key) || 0, pages.length - 1);
    const wanted = this.wanted.get(key);
    if (wanted !== undefined) {
      this.wanted.delete(key);
      const holding = pages.findIndex((page) => page.some((u) => u.dataset.id === wanted));
      if (holding >= 0 && holding !== at) {
        at = holding;
        this.schedule(); // a page brought up for a change stays its full time
      }
    }
    this.at.set(key, at);
    this.count.set(key, pages.length);
    const shown = new Set(pages[at]);
    for (const unit of units) unit.hidden = !shown.has(unit);
    box.dataset.page = String(at + 1);
    for (const tag of document.querySelectorAll(`[data-page-of="${key}"]`)) {
      tag.textContent = pages.length > 1 ? this.label(at + 1, pages.length) : "";
      tag.hidden = pages.length < 2;
    }
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.turn(), this.seconds * 1000);
  }

  turn() {
    for (const [key, count] of this.count) {
      if (count > 1) this.at.set(key, ((this.at.get(key) || 0) + 1) % count);
    }
    this.timer = null;
    if (this.root) this.layout(this.root);
  }
}

// Greedy packing in document order. A heading is never the last thing on a page, and a page that
// starts inside a section shows that section's heading first.
function pack(units, room, gap) {
  const height = new Map(units.map((u) => [u, u.getBoundingClientRect().height]));
  const pages = [];
  let page = [];
  let used = 0;
  let heading = null;
  const add = (unit) => {
    used += (page.length ? gap : 0) + height.get(unit);
    page.push(unit);
  };
  for (const unit of units) {
    if (unit.tagName === "H3") {
      heading = unit;
      continue;
    }
    const needsHeading = heading && !page.includes(heading);
    const need = height.get(unit) + (needsHeading ? height.get(heading) + gap : 0) + (page.length ? gap : 0);
    if (page.length && used + need > room + 0.5) { // half a pixel: sub-pixel line heights add up
      pages.push(page);
      page = [];
      used = 0;
    }
    if (heading && !page.includes(heading)) add(heading);
    add(unit);
  }
  if (page.length || !pages.length) pages.push(page);
  return pages;
}
