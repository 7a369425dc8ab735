// The shared client of every live face: one socket, one place that dispatches on message type,
// an outbox kept in localStorage so a reload or a dropped connection loses nothing, and a local
// copy of the meeting that events keep up to date. User text only ever goes in via textContent.

export function boot() {
  return JSON.parse(document.getElementById("boot").textContent);
}

// An entry is a message or, when it holds a number of things, one message per CLDR plural
// category chosen by params.count — the same scheme as facilitator/i18n on the server. Hebrew is
// one (1), two (2), other (0, 3, 11, 20, 21 ...) in Chromium 156 and Babel 2.19 (CLDR 49) alike.
export function translator(strings, lang = document.documentElement.lang) {
  const plural = new Intl.PluralRules(lang);
  const message = (entry, count) =>
    typeof entry === "object" ? entry[plural.select(Number(count) || 0)] ?? entry.other : entry;
  return (key, params = {}) =>
    message(strings[key] ?? key, params.count).replace(/\{(\w+)\}/g, (_, name) => {
      const value = params[name];
      if (typeof value === "string" && strings[`stage.${value}`] && (name === "stage" || name === "next")) {
        return strings[`stage.${value}`];
      }
      return value === undefined ? "" : String(value);
    });
}

// h("li", {class: "x", onclick: fn}, "text", child) — never parses HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace an element's content, skipping the null/false of conditional pieces.
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// Redraw a face without taking the field a person is typing in away from them: the element with
// the same data-key gets the focus back, with the caret or selection where it was (a redraw
// between selecting a word and typing over it would otherwise append to it). Date and time
// inputs have no selection to keep.
export function redraw(el, ...children) {
  // Held only while a press is fresh: a finger resting on the screen must not freeze the room.
  if (pressedAt && performance.now() - pressedAt < PRESS_HOLD_MS) {
    held.set(el, children);
    el.dataset.held = "";
    holdTimer ??= setTimeout(drawHeld, PRESS_HOLD_MS);
    return;
  }
  held.delete(el);
  redrawNow(el, children);
}

// A press becomes a click only if the element under it is still there at the release, so a
// room event redrawing between the two loses the tap ("Add commitment" did nothing). Redraws
// wait for the release; the click's own handler runs first and draws the newer state, which
// supersedes what was held.
const PRESS_HOLD_MS = 3000;
let pressedAt = 0;
const held = new Map();
let holdTimer = null;

// Also on a timer: a press on a <select> opens its list and may never send its release here.
function drawHeld() {
  clearTimeout(holdTimer);
  holdTimer = null;
  for (const [el, children] of held) redrawNow(el, children);
  held.clear();
}

if (typeof addEventListener === "function") {
  addEventListener("pointerdown", () => { pressedAt = performance.now(); }, true);
  const release = () => {
    pressedAt = 0;
    setTimeout(drawHeld, 0);
  };
  addEventListener("pointerup", release, true);
  addEventListener("pointercancel", release, true);
}

function redrawNow(el, children) {
  delete el.dataset.held;
  const active = document.activeElement;
  const key = active?.dataset?.key;
  let start = null;
  let end = null;
  let direction;
  try {
    start = active?.selectionStart ?? null;
    end = active?.selectionEnd ?? null;
    direction = active?.selectionDirection;
  } catch { /* not a text field */ }
  fill(el, ...children);
  if (!key) return;
  const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (!again) return;
  again.focus();
  if (start !== null && end !== null) {
    try { again.setSelectionRange(start, end, direction); } catch { /* not a text field */ }
  }
}

// An input whose value survives re-rendering: typing goes into `drafts[key]`, and the page
// puts the focus back on the element with the same data-key after it redraws.
export function field(drafts, key, attrs) {
  const input = h(attrs.tag || "input", { ...attrs, tag: undefined, "data-key": key,
    oninput: (e) => { drafts[key] = e.target.value; } });
  if (drafts[key] !== undefined) input.value = drafts[key];
  return input;
}

// A bidi-isolated piece of user text (a name or organization inside a sentence).
export const bdi = (text) => h("bdi", {}, text ?? "");

// A block of user text (a commitment, a decision, a title) that takes its own direction from
// its first letters: an English commitment on a Hebrew wall aligns and wraps as English.
export const userText = (tag, text, attrs = {}) => h(tag, { ...attrs, dir: "auto" }, text ?? "");

// Names (or any items) joined as the language joins them, each isolated:
// "רות, דן ונועה" / "Ruth, Dan, and Noa". Returns nodes to put inside an element.
export function nameList(names, lang = document.documentElement.lang) {
  const items = names.filter(Boolean).map(String);
  const format = new Intl.ListFormat(lang, { style: "long", type: "conjunction" });
  let next = 0;
  return format.formatToParts(items).map((part) => (part.type === "element" ? bdi(items[next++]) : part.value));
}

// A shared value's words in `lang`, or in the language it is written in (with that language,
// for the element's lang attribute). Values come to every screen in both languages.
export function valueText(v, lang = document.documentElement.lang) {
  const chosen = v[lang] ? lang : lang === "he" ? "en" : "he";
  return { ...v[chosen], lang: chosen };
}

// A value as a list item (the console's side, the phone's header): "title: behaviour · behaviour".
export function valueItem(v, lang = document.documentElement.lang) {
  const { title, behaviours, lang: written } = valueText(v, lang);
  // The item keeps the page's direction (its bullet stays in the card); its words their own.
  return h("li", { lang: written }, h("span", { dir: "auto" }, h("strong", { text: title }), ": ", behaviours.join(" · ")));
}

// The network's time zone, told by the snapshot: the day shown is always the day where the
// network meets, as on the server (facilitator/localtime.py).
let networkZone;

export function newId() {
  // crypto.randomUUID needs a secure context; phones on a LAN address over http have none.
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// A day ("2026-12-01") as people write it; a moment ("2026-11-30T22:30:00+00:00") is first
// turned into its day where the network meets, never cut to its UTC date.
export function formatDate(iso, lang) {
  if (!iso) return "";
  const style = { day: "numeric", month: "short", year: "numeric" };
  const locale = lang === "he" ? "he-IL" : "en-GB";
  if (iso.length > 10) return new Intl.DateTimeFormat(locale, { ...style, timeZone: networkZone }).format(new Date(iso));
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { ...style, timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

// When and where a meeting happens, beside its date wherever the date is shown.
export function meetingWhen(meeting, lang) {
  return [formatDate(meeting.day || meeting.scheduled_on, lang),
    meeting.starts_at ? [" · ", h("time", { dir: "ltr", text: meeting.starts_at })] : null,
    meeting.place ? [" · ", bdi(meeting.place)] : null];
}

// Today where the network meets, as YYYY-MM-DD.
export function todayIso() {
  const parts = new Intl.DateTimeFormat("en", { timeZone: networkZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(new Date());
  const part = (type) => parts.find((x) => x.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

function upsert(list, item) {
  const at = list.findIndex((x) => x.id === item.id);
  if (at >= 0) list[at] = { ...list[at], ...item };
  else list.push(item);
}

// Apply one event to the local copy of the meeting. The server is the truth; this only mirrors.
export function applyEvent(state, type, p) {
  const s = state;
  switch (type) {
    case "meeting_created": break;
    case "values_changed": s.values = p.values; break; // the backbone changed the network's values
    case "meeting_updated":
      Object.assign(s.meeting, { title: p.title, scheduled_on: p.scheduled_on, starts_at: p.starts_at ?? null, place: p.place ?? null });
      if (!s.meeting.started_at) s.meeting.day = p.scheduled_on; // the planned day, until it starts
      break;
    case "joined":
    case "marked_present": // the facilitator marked someone present who came without a phone
      // A phone's copy has no attendance: it never draws it (and is told no `joined`).
      if (s.attendance && !s.attendance.some((x) => x.id === p.person.id)) s.attendance.push(p.person);
      // An accepted request: every other phone asking to be that person lost with it.
      if (p.claim && s.claims) s.claims = s.claims.filter((x) => x.person.id !== p.person.id);
      break;
    case "claim_requested": // a phone asks to be someone the network knew (staff copies only)
      if (!s.claims) break;
      // A fourth request for one person pushes out that person's oldest.
      if (p.replaced) s.claims = s.claims.filter((x) => x.id !== p.replaced.id);
      if (!s.claims.some((x) => x.id === p.claim.id)) s.claims.push({ ...p.claim, person: p.person });
      break;
    case "claim_refused":
      if (s.claims) s.claims = s.claims.filter((x) => x.id !== p.claim.id);
      break;
    case "stage_changed":
      s.meeting.stage = p.stage;
      // A meeting is held on the day it starts, where the network meets (as the server says).
      if (p.previous === "lobby" && !s.meeting.started_at) {
        s.meeting.day = todayIso();
        s.meeting.started_at = new Date().toISOString();
      }
      // Leaving the agenda paused the item on screen: its clock keeps only the time it ran.
      if (p.elapsed) {
        s.meeting.item_started_at = null;
        for (const [id, seconds] of Object.entries(p.elapsed)) {
          const item = s.agenda.find((x) => String(x.id) === id);
          if (item) item.elapsed_seconds = seconds;
        }
      }
      for (const c of p.reopened || []) {
        if (!s.reopened.some((x) => x.id === c.id)) s.reopened.push({ ...c, review: { outcome: null, old_due: c.due } });
      }
      break;
    case "meeting_closed":
    case "meeting_cancelled":
      s.meeting.stage = "closed";
      s.meeting.join_code = null;
      s.meeting.cancelled = type === "meeting_cancelled";
      if (s.claims) s.claims = []; // refused with the close: the code is void
      break;
    case "opener_action":
      if (!s.opener_actions) break; // a phone's copy: it never draws them
      if (p.text) s.opener_actions[String(p.blocker_id)] = p.text;
      else delete s.opener_actions[String(p.blocker_id)];
      break;
    case "agenda_item_added":
    case "agenda_item_updated":
    case "decision_recorded":
      upsert(s.agenda, p.item);
      s.agenda.sort((a, b) => a.position - b.position);
      break;
    case "agenda_item_removed":
      s.agenda = s.agenda.filter((x) => x.id !== p.item_id);
      break;
    case "agenda_focus":
    case "agenda_timer":
      // `elapsed` holds the kept seconds of the item whose clock just stopped.
      if (type === "agenda_focus") s.meeting.current_item_id = p.item_id;
      s.meeting.item_started_at = p.started_at;
      for (const [id, seconds] of Object.entries(p.elapsed || {})) {
        const item = s.agenda.find((x) => String(x.id) === id);
        if (item) item.elapsed_seconds = seconds;
      }
      break;
    case "agenda_item_moved":
      s.agenda.sort((a, b) => p.order.indexOf(a.id) - p.order.indexOf(b.id));
      s.agenda.forEach((item, at) => { item.position = at + 1; });
      break;
    case "next_meeting_scheduled":
      if (s.next) s.next.meeting = p.next;
      else s.next = { meeting: p.next, suggested: null };
      break;
    case "commitment_proposed":
    case "commitment_added":
    case "commitment_confirmed":
    case "commitment_edited":
      upsert(s.commitments, p.commitment);
      break;
    case "commitment_rejected":
    case "commitment_withdrawn":
      s.commitments = s.commitments.filter((x) => x.id !== p.commitment.id);
      break;
    case "commitment_reviewed": {
      const entry = s.reopened.find((x) => x.id === p.commitment.id);
      if (entry) Object.assign(entry, p.commitment, { review: p.review });
      break;
    }
    // Nothing of these is in the state: a released phone leaves (phone.js), and the console
    // reads the roster and the names again after any event.
    case "name_released":
    case "roster_added":
      break;
    default:
      break;
  }
}

export class LiveRoom {
  constructor({ meetingId, face, lang, hello, onChange, onError, onStatus, onAck }) {
    Object.assign(this, { meetingId, face, lang, hello, onChange, onError, onStatus, onAck });
    this.state = null;
    this.me = null;
    this.lastSeq = null;
    this.tallySeq = 0;
    this.namedAnswers = {}; // staff only: who showed their name with their opener answer
    this.retry = 0;
    this.socket = null;
    this.closedByServer = null;
    this.outboxKey = `facilitator-outbox-${meetingId}-${face}`;
    this.waiting = new Map(); // seq -> [ack, command]: settled once that event is applied
    // Unanswered commands go out again now and then: the server answers a resend with the
    // first result, so this is safe, and it rescues commands lost to a rate limit or a fault.
    setInterval(() => this.flush(5000), 5000);
  }

  get outbox() {
    try { return JSON.parse(localStorage.getItem(this.outboxKey) || "[]"); } catch { return []; }
  }

  set outbox(items) {
    try { localStorage.setItem(this.outboxKey, JSON.stringify(items)); } catch { /* private mode */ }
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/m/${this.meetingId}?face=${this.face}`);
    this.socket = socket;
    this.onStatus?.(this.lastSeq === null ? "connecting" : "reconnecting");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", last_seq: this.state ? this.lastSeq : null, lang: this.lang, ...this.hello() }));
    });
    socket.addEventListener("message", (e) => this.receive(JSON.parse(e.data)));
    socket.addEventListener("close", (e) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (e.code === 4401 || e.code === 1008) {
        this.onStatus?.(e.code === 4401 ? "signed_out" : "refused");
        return;
      }
      this.retry = Math.min(this.retry + 1, 6);
      const wait = Math.min(10000, 400 * 2 ** this.retry) * (0.5 + Math.random());
      this.onStatus?.("reconnecting");
      setTimeout(() => this.connect(), wait);
    });
  }

  // This screen speaks for no one any more (a facilitator released its name): close for good,
  // hear nothing more, and drop what it queued in that name, so that whoever joins next on this
  // phone never sends it.
  stop() {
    this.stopped = true;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.outbox = [];
  }

  // The one place messages are told apart.
  receive(msg) {
    if (this.stopped) return;
    switch (msg.type) {
      case "welcome":
        this.retry = 0;
        this.me = msg.me;
        if (msg.snapshot) {
          this.state = msg.snapshot;
          this.lastSeq = msg.snapshot.meeting.last_seq;
          networkZone = msg.snapshot.network.timezone;
        }
        this.onStatus?.("live");
        this.flush();
        this.onChange?.("welcome");
        break;
      case "event":
        if (this.state && msg.seq > this.lastSeq) {
          applyEvent(this.state, msg.event, msg.payload);
          this.lastSeq = msg.seq;
          this.release(msg.seq);
          this.onChange?.(msg.event, msg.payload);
        }
        break;
      case "tally":
        if (this.state && msg.seq >= this.tallySeq) {
          this.tallySeq = msg.seq;
          this.state.tally = msg.tally;
          this.state.respondents = msg.respondents;
          this.release(msg.seq);
          this.onChange?.("tally");
        }
        break;
      case "gates": // the console's: what blocks closing, pushed as it changes
        if (this.state) {
          this.state.gates = msg.gates;
          this.namedAnswers = msg.named_answers;
          this.held = msg.held || 0; // networks waiting at the door after guessing codes
          this.onChange?.("gates");
        }
        break;
      case "ack": {
        const command = this.outbox.find((c) => c.id === msg.id);
        // The ack can overtake its own event; keep showing the command until the event is in
        // (unless that event is of a kind this screen is not sent: a phone's opener answer).
        if (this.state && msg.follows !== false && msg.seq > Math.max(this.lastSeq, this.tallySeq) && command) {
          this.waiting.set(msg.seq, [msg, command]);
          setTimeout(() => this.release(msg.seq), 3000);
        } else {
          // The page records what the answer means before the command leaves the outbox, so a
          // redraw never shows the moment between "sending" and "sent" as nothing at all.
          this.onAck?.(msg, command);
          this.settle(msg.id);
        }
        break;
      }
      case "error": {
        // A fault on the server or a rate limit is no answer: the command stays and goes again.
        const final = msg.key !== "server.error" && msg.key !== "msg.rate_limited";
        const command = this.outbox.find((c) => c.id === msg.id);
        this.onError?.(msg, final ? command : undefined);
        if (final) this.settle(msg.id);
        break;
      }
      case "pong":
        break;
      default:
        console.warn("unknown message", msg.type);
    }
  }

  release(seq) {
    for (const [waitingSeq, [ack, command]] of this.waiting) {
      if (waitingSeq <= seq) {
        this.waiting.delete(waitingSeq);
        this.onAck?.(ack, command);
        this.settle(ack.id);
      }
    }
  }

  settle(id) {
    if (!id) return;
    this.outbox = this.outbox.filter((item) => item.id !== id);
    this.onChange?.("outbox");
  }

  // Every command is written to the outbox first, then sent; only an answer removes it.
  send(type, data = {}) {
    const command = { type, id: newId(), at: Date.now(), ...data };
    this.outbox = [...this.outbox, command];
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.state) {
      this.socket.send(JSON.stringify(command));
    }
    this.onChange?.("outbox");
    return command.id;
  }

  flush(olderThan = 0) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN || !this.state) return;
    const now = Date.now();
    for (const command of this.outbox) {
      if (now - (command.at || 0) >= olderThan) this.socket.send(JSON.stringify(command));
    }
  }

  pending(type) {
    return this.outbox.filter((c) => !type || c.type === type);
  }
}

const STATUS_WORDS = { connecting: "live.connecting", reconnecting: "live.reconnecting",
  signed_out: "live.signed_out", refused: "live.refused" };

// `words` lets a face say a status its own way (the wall sends nothing, so keeps nothing).
export function statusLine(t, status, words = {}) {
  const key = { ...STATUS_WORDS, ...words }[status];
  document.getElementById("status").textContent = key ? t(key) : "";
}

export function valuesStrip(t, values) {
  return h("section", { class: "values-strip", "aria-label": t("values.title") },
    values.map((v) => {
      const { title, behaviours, lang } = valueText(v);
      return h("span", { lang, dir: "auto" }, h("strong", {}, title), " — ", behaviours.join(" · "));
    }));
}

// One bar per blocker: how many of those who answered flagged it, as a count and a share of them.
// A bar is scaled to the respondents, so one flag from one respondent fills it and one from ten is
// a tenth. `pages` names the box for the wall's pager (pager.js).
export function tallyBars(state, lang, pages = undefined) {
  const counts = state.tally || {};
  const respondents = state.respondents || 0;
  const percent = new Intl.NumberFormat(lang === "he" ? "he-IL" : "en-GB", { style: "percent" });
  return h("div", { class: "bars", "data-pages": pages }, state.blockers.map((b) => {
    const n = counts[String(b.id)] || 0;
    const share = respondents ? Math.min(1, n / respondents) : 0;
    const bar = h("span", {});
    bar.style.inlineSize = `${100 * share}%`;
    return h("div", { class: "bar-row", "data-count": String(n), "data-respondents": String(respondents) },
      h("span", {}, lang === "he" ? b.he : b.en), h("div", { class: "bar", role: "presentation" }, bar),
      h("span", { class: "count" }, String(n)),
      h("span", { class: "share", dir: "ltr", text: respondents ? percent.format(share) : "" }));
  }));
}

// Seconds left in an agenda item's timebox (negative once over). An item keeps what it ran
// before its current run in `elapsed_seconds`; `meeting.item_started_at` is null while the item
// on screen is paused, so only the item in focus with a start time is counting down.
export function itemSecondsLeft(meeting, item, now = Date.now()) {
  const running = item.id === meeting.current_item_id && meeting.item_started_at;
  const thisRun = running ? Math.max(0, Math.floor((now - Date.parse(meeting.item_started_at)) / 1000)) : 0;
  return item.minutes * 60 - (item.elapsed_seconds || 0) - thisRun;
}

// "4:05", "0:00", "-1:05": minutes and seconds, a minus sign once the timebox is over.
export function clockText(secondsLeft) {
  const abs = Math.abs(secondsLeft);
  return `${secondsLeft < 0 ? "-" : ""}${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
}

export function stageName(t, stage) {
  return t(`stage.${stage}`);
}
