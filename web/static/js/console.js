// The facilitator's console: the stage and its moves, the gates as a live checklist, and the
// controls of each stage. The server decides everything; this page asks and shows.
import { bdi, boot, clockText, field as draftField, fill, formatDate, h, itemSecondsLeft, LiveRoom, meetingWhen, nameList, redraw, statusLine, tallyBars, todayIso, translator, userText, valueItem } from "./live.js";

const B = boot();
const t = translator(B.strings);
const app = document.getElementById("app");
const viewLink = app.dataset.viewLink;
const STAGES = ["lobby", "review", "opener", "agenda", "commitments", "closed"];
const drafts = {};
let lastError = null;

const room = new LiveRoom({
  meetingId: B.meeting_id, face: "console", lang: B.lang, hello: () => ({}),
  onStatus: (s) => statusLine(t, s),
  onChange: () => render(),
  onError: (msg, command) => {
    // A refused form keeps what was typed and shows why beside it; other refusals go on top.
    const form = command && Object.keys(forms).find((k) => forms[k].id === command.id);
    if (form) forms[form].error = msg; else lastError = msg;
    render();
  },
  onAck: (ack) => {
    lastError = null;
    const form = Object.keys(forms).find((k) => forms[k].id === ack.id);
    if (form) { forms[form].done?.(); delete forms[form]; }
  },
});

// Forms whose command is on its way: {id, error, done}. Their drafts are cleared by `done` on the
// server's yes, never before.
const forms = {};

function submitForm(key, type, data, done) {
  forms[key] = { id: room.send(type, data), error: null, done };
  render();
}

function formStatus(key) {
  const f = forms[key];
  if (!f) return null;
  if (f.error) {
    return h("div", { class: "error", role: "alert" }, h("p", { text: f.error.message }),
      f.error.details?.length ? h("ul", {}, f.error.details.map((d) => h("li", { text: d }))) : null);
  }
  return room.pending().some((c) => c.id === f.id) ? h("p", { class: "pending", role: "status", text: t("live.sending") }) : null;
}

// ISO dates inside a message's parameters are shown as people write dates.
function shownParams(params = {}) {
  return Object.fromEntries(Object.entries(params).map(([k, v]) =>
    [k, typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) ? formatDate(v, B.lang) : v]));
}

// The gate checklist and who chose to show their name with their opener answer come from the
// server itself: it pushes them (a `gates` message) a moment after anything changes them.

const field = (key, attrs) => draftField(drafts, key, attrs);

function person(p) {
  return h("span", {}, bdi(p.name), p.organization ? h("span", { class: "meta" }, " · ", bdi(p.organization)) : null);
}

function stepper(stage) {
  const at = STAGES.indexOf(stage);
  return h("ol", { class: "stepper", "aria-label": t("console.stages") }, STAGES.map((s, i) =>
    h("li", { class: i === at ? "current" : i < at ? "done" : "", "aria-current": i === at ? "step" : null, text: t(`stage.${s}`) })));
}

function moves(stage) {
  const at = STAGES.indexOf(stage);
  if (stage === "closed") return null;
  const buttons = [];
  if (at > 0) buttons.push(h("button", { type: "button", onclick: () => room.send("move", { stage: STAGES[at - 1] }), text: t("console.back_to", { stage: STAGES[at - 1] }) }));
  if (stage === "lobby") buttons.push(h("button", { type: "button", class: "primary big", onclick: () => room.send("start"), text: t("console.start") }));
  else if (stage === "commitments") buttons.push(h("button", { type: "button", class: "primary big", onclick: () => room.send("close"), text: t("console.close") }));
  else buttons.push(h("button", { type: "button", class: "primary big", onclick: () => room.send("move", { stage: STAGES[at + 1] }), text: t("console.next", { stage: STAGES[at + 1] }) }));
  buttons.push(h("details", { class: "more" }, h("summary", { text: t("console.more") }),
    h("button", { type: "button", class: "danger", onclick: () => { if (confirm(t("console.cancel_confirm"))) room.send("cancel"); }, text: t("console.cancel") })));
  return h("div", { class: "actions" }, buttons);
}

// Where each unmet gate is fixed: the commitments stage shows all three places.
const GATE_FIX = { "gate.unreviewed": "unreviewed", "gate.pending_proposals": "proposals", "gate.no_commitment": "add-commitment",
  "commitment.owner_required": "made", "commitment.due_required": "made", "commitment.due_before_meeting": "made" };

function gates(s) {
  const stage = s.meeting.stage;
  if (stage === "closed") {
    return h("section", { class: "card" }, h("h2", { text: t("console.gates") }),
      h("p", { class: "ok", text: t(s.meeting.cancelled ? "console.was_cancelled" : "console.was_closed") }));
  }
  const items = s.gates.map((g) => {
    const text = t(g.key, shownParams(g.params));
    const fix = GATE_FIX[g.key];
    // Earlier stages show the gates as a reminder; the closing round links each to its fix.
    if (!fix || stage !== "commitments") return h("li", { text });
    return h("li", {}, h("a", { href: `#${fix}`, text }));
  });
  const ready = !items.length && stage === "commitments";
  return h("section", { class: "card" }, h("h2", { text: t("console.gates") }),
    h("ul", { class: "gates" }, items.length ? items : h("li", { class: ready ? "ok" : "", text: ready ? t("console.ready_to_close") : t("console.gates_later") })));
}

const presentIds = (s) => new Set(s.attendance.map((p) => p.id));

function presence(s, p) {
  const here = presentIds(s).has(p.id);
  return h("span", { class: `presence ${here ? "here" : "away"}`, text: here ? t("console.owner_here") : t("console.owner_away") });
}

// --- who holds which name (staff only) ----------------------------------------------------------
// Which phone holds which name, and a way to free a name for the right phone. Read from a
// staff-only address, never from the snapshot phones get too: again a moment after the meeting's
// log moves, and every 15 s for phones that come and go. A released name is taken back by a join
// that logs nothing new (the person is already present), so while one waits, every 2 s.
const NAMES_EVERY_MS = 15000;
const NAMES_WAITING_MS = 2000;
const names = { byId: new Map(), seq: null, at: 0, loading: false, found: null, asking: null, freed: new Set() };
let searchTimer = null;

async function namesFrom(query) {
  try {
    const search = query ? `?${new URLSearchParams({ q: query })}` : "";
    const response = await fetch(`/api/m/${B.meeting_id}/names${search}`, { credentials: "same-origin" });
    return response.ok ? (await response.json()).people : null;
  } catch {
    return null;
  }
}

async function loadNames() {
  names.loading = true;
  names.seq = room.lastSeq;
  const [present, found, expected] = await Promise.all([namesFrom(""), names.found ? namesFrom((drafts.namesearch || "").trim()) : null, rosterFrom()]);
  Object.assign(names, { loading: false, at: Date.now() });
  if (present) names.byId = new Map(present.map((p) => [p.id, p]));
  if (found) names.found = found;
  if (expected) Object.assign(roster, { members: expected.roster, guests: new Set(expected.guests), noPhone: new Set(expected.no_phone), loaded: true });
  render();
}

// --- the roster in the room (staff only) -------------------------------------------------------
// Who the group expects, read with the names above: a guest (came, not on the roster) may be put
// on it or left a guest; a roster member with no phone is marked present from here, and is then
// present like anyone else (an owner to pick, a carried commitment to review for them).
const roster = { members: [], guests: new Set(), noPhone: new Set(), loaded: false, kept: new Set() };

async function rosterFrom() {
  try {
    const response = await fetch(`/api/m/${B.meeting_id}/roster`, { credentials: "same-origin" });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function attendanceTags(p) {
  if (!roster.loaded) return null;
  const guest = roster.guests.has(p.id);
  const adding = room.pending("add_to_roster").some((c) => c.person_id === p.id);
  const offer = guest && !roster.kept.has(p.id) && !adding;
  if (!guest && !roster.noPhone.has(p.id)) return null;
  return h("div", { class: "attendance-tags" },
    guest ? h("span", { class: "badge guest", text: t("console.guest") }) : null,
    roster.noPhone.has(p.id) ? h("span", { class: "badge no-phone", text: t("console.no_phone") }) : null,
    adding ? h("span", { class: "pending", role: "status", text: t("live.sending") }) : null,
    offer ? h("button", { type: "button", class: "small", "data-key": `roster-add-${p.id}`, text: t("console.add_to_roster"),
      onclick: () => { room.send("add_to_roster", { person_id: p.id }); render(); } }) : null,
    offer ? h("button", { type: "button", class: "small link", text: t("console.keep_guest"),
      onclick: () => { roster.kept.add(p.id); render(); } }) : null);
}

function expectedList(s) {
  if (!roster.loaded) return null;
  if (!roster.members.length) return h("p", { class: "muted expected", text: t("console.no_roster") });
  const here = presentIds(s);
  const missing = roster.members.filter((p) => !here.has(p.id));
  if (!missing.length) return h("p", { class: "muted expected", text: t("console.all_expected_here") });
  const open = s.meeting.stage !== "closed";
  return h("section", { class: "expected", "aria-label": t("console.expected", { count: missing.length }) },
    h("h3", { text: t("console.expected", { count: missing.length }) }),
    h("ul", { class: "list compact expected-list" }, missing.map((p) => {
      const marking = room.pending("mark_present").some((c) => c.person_id === p.id);
      return h("li", { "data-person": String(p.id) }, person(p),
        marking ? h("span", { class: "pending", role: "status", text: t("live.sending") })
          : open ? h("button", { type: "button", class: "small", "data-key": `mark-${p.id}`, "aria-label": t("console.mark_present_label", { name: p.name }),
            text: t("console.mark_present"), onclick: () => { room.send("mark_present", { person_id: p.id }); render(); } }) : null);
    })));
}

// A freed name is watched closely until the right phone holds it and its socket is in; so is a
// name a phone took in the last half minute and whose socket is not in yet: a join and the
// socket that follows it are two steps, and between them the phone reads "not connected".
const JUST_JOINED_MS = 30000;
function waitingForPhone() {
  const freed = [...names.freed].some((id) => {
    const holder = names.byId.get(id);
    return holder !== undefined && (holder.phones === 0 || !holder.connected);
  });
  return freed || [...names.byId.values()].some((holder) =>
    holder.phones > 0 && !holder.connected && holder.held_since
      && Date.now() - Date.parse(holder.held_since) < JUST_JOINED_MS);
}

setInterval(() => {
  const every = waitingForPhone() ? NAMES_WAITING_MS : NAMES_EVERY_MS;
  if (room.state && !names.loading && (names.seq !== room.lastSeq || Date.now() - names.at > every)) loadNames();
}, 1000);

function searchNames() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const query = (drafts.namesearch || "").trim();
    names.found = query ? (await namesFrom(query)) || [] : null;
    document.getElementById("name-search-results")?.replaceWith(foundList());
  }, 250);
}

// When a phone took a name, as the clock reads where the network meets: the time today, else
// the day and the time.
function heldSince(iso) {
  const timeZone = room.state?.network?.timezone;
  const day = (d) => new Intl.DateTimeFormat("en", { timeZone, dateStyle: "short" }).format(d);
  const at = new Date(iso);
  const style = day(at) === day(new Date()) ? {} : { day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(B.lang === "he" ? "he-IL" : "en-GB", { ...style, hour: "2-digit", minute: "2-digit", timeZone }).format(at);
}

function phoneLine(info) {
  const parts = info.present ? [] : [t("console.not_here")];
  if (info.phones) parts.push(t("console.phone_since", { time: heldSince(info.held_since) }), t(info.connected ? "console.phone_connected" : "console.phone_away"));
  else parts.push(t("console.phone_none"));
  return h("span", { class: `meta phone-line ${info.connected ? "connected" : ""}`, text: parts.join(" · ") });
}

function release(p) {
  names.asking = null;
  names.freed.add(p.id);
  room.send("release_name", { person_id: p.id });
  render();
}

function releaseControls(p, info) {
  if (room.pending("release_name").some((c) => c.person_id === p.id)) return h("p", { class: "pending", role: "status", text: t("live.sending") });
  if (!info.phones) return names.freed.has(p.id) ? h("p", { class: "notice", role: "status", text: t("console.released", { name: p.name }) }) : null;
  if (names.asking !== p.id) {
    return h("button", { type: "button", class: "small", "data-key": `release-${p.id}`, text: t("console.release"), onclick: () => {
      names.asking = p.id;
      render();
      app.querySelector(`[data-key="release-yes-${p.id}"]`)?.focus();
    } });
  }
  return h("div", { class: "release-ask", role: "group", "aria-label": t("console.release") },
    h("p", { text: t("console.release_confirm", { name: p.name }) }),
    h("div", { class: "choice-row" },
      h("button", { type: "button", class: "danger", "data-key": `release-yes-${p.id}`, onclick: () => release(p), text: t("console.release_yes") }),
      h("button", { type: "button", onclick: () => { names.asking = null; render(); }, text: t("console.release_keep") })));
}

function nameRow(p, info, tags = null) {
  return h("li", { class: "name-row", "data-person": String(p.id) }, person(p), tags, info ? [phoneLine(info), releaseControls(p, info)] : null);
}

function foundList() {
  const found = names.found;
  return h("ul", { class: "list compact", id: "name-search-results", "aria-live": "polite" },
    found === null ? null : found.length ? found.map((p) => nameRow(p, p)) : h("li", { class: "muted", text: t("console.find_none") }));
}

// The owner of a name held by a lost phone may not be in the meeting at all: find them by name.
function findName() {
  const input = field("namesearch", { type: "search", maxlength: 120, "aria-controls": "name-search-results" });
  input.addEventListener("input", searchNames);
  return h("div", { class: "stack find-name" }, h("label", {}, t("console.find_name"), input), foundList());
}

// Phones asking to be someone the network knew (anyone can type an absent colleague's name):
// the facilitator looks up, sees the person, and accepts in one tap. The two digits are the ones
// the phone shows, to tell two phones asking for one name apart.
function claimsCard(s) {
  const waiting = s.claims || [];
  if (!waiting.length) return null;
  const sending = room.pending("decide_claim");
  const decide = (c, accept) => room.send("decide_claim", { claim_id: c.id, accept });
  // "Accept all" only where one phone asks for a name: two asking for one name need a look each.
  const alone = waiting.filter((c) => waiting.filter((x) => x.person.id === c.person.id).length === 1);
  return h("section", { class: "card claims", id: "claims", role: "region", "aria-label": t("console.claims_title") },
    h("h2", { text: t("console.claims_title", { count: waiting.length }) }),
    h("p", { class: "meta", text: t("console.claims_help") }),
    h("ul", { class: "list compact" }, waiting.map((c) => h("li", { class: "claim", "data-claim": String(c.id) },
      person(c.person), " ", h("span", { class: "badge", dir: "ltr", text: `#${c.number}` }),
      sending.some((x) => x.claim_id === c.id) ? h("p", { class: "pending", role: "status", text: t("live.sending") })
        : h("div", { class: "choice-row" },
          h("button", { type: "button", class: "primary small", onclick: () => decide(c, true) }, t("console.claim_accept"), " ", bdi(c.person.name)),
          h("button", { type: "button", class: "small", onclick: () => decide(c, false), text: t("console.claim_refuse") }))))),
    h("div", { class: "choice-row" },
      alone.length > 1 ? h("button", { type: "button", onclick: () => alone.forEach((c) => decide(c, true)),
        text: t("console.claim_accept_all", { count: alone.length }) }) : null,
      // Requests nobody in the room recognises (made up, or left by phones that went away).
      waiting.length > 1 ? h("button", { type: "button", class: "refuse-all", onclick: () => waiting.forEach((c) => decide(c, false)),
        text: t("console.claim_refuse_all", { count: waiting.length }) }) : null));
}

// Phones on one network (a venue's Wi-Fi) locked out for guessing codes, then typing this
// meeting's: the facilitator lets them in.
const door = { sending: false, done: false };

async function letIn() {
  door.sending = true; render();
  try {
    const response = await fetch(`/api/m/${B.meeting_id}/let-in`, {
      method: "POST", credentials: "same-origin",
      headers: { "x-csrf-token": document.querySelector("input[name=csrf]")?.value || "" },
    });
    if (!response.ok) throw new Error((await response.json()).error?.message || response.statusText);
    room.held = 0; door.done = true; lastError = null;
  } catch (error) {
    lastError = error.message;
  } finally {
    door.sending = false; render();
  }
}

function heldCard() {
  if (!room.held) return door.done ? h("p", { class: "notice", role: "status", text: t("console.held_done") }) : null;
  door.done = false;
  return h("section", { class: "card held", id: "held", role: "region", "aria-label": t("console.held_title", { count: room.held }) },
    h("h2", { text: t("console.held_title", { count: room.held }) }),
    h("p", { class: "meta", text: t("console.held_help") }),
    door.sending ? h("p", { class: "pending", role: "status", text: t("live.sending") })
      : h("button", { type: "button", class: "primary", onclick: letIn, text: t("console.held_let_in") }));
}

function side(s) {
  return h("aside", {},
    heldCard(),
    claimsCard(s),
    gates(s),
    h("section", { class: "card" },
      h("h2", {}, t("console.attendance", { count: s.attendance.length })),
      s.meeting.join_code ? h("p", {}, t("join.code"), ": ", h("strong", { dir: "ltr", class: "code", text: s.meeting.join_code })) : null,
      viewLink ? h("p", {}, h("a", { href: viewLink, target: "_blank", rel: "noopener", text: t("console.projector_link") })) : null,
      h("ul", { class: "list compact names" }, s.attendance.map((p) => nameRow(p, names.byId.get(p.id), attendanceTags(p)))),
      expectedList(s),
      findName()),
    h("section", { class: "card values-card" }, h("h2", { text: t("values.title") }),
      h("ul", { class: "values" }, s.values.map((v) => valueItem(v, B.lang)))));
}

// What the owner reported from their own page since the commitment was last heard: the review
// starts from it, and "done" or "on track" is confirmed in one tap.
function ownerReport(c, outcome, send) {
  const said = c.report;
  if (!said) return null;
  const confirmable = said.outcome === "done" || said.outcome === "on_track";
  // A stuck one is offered as an item of this meeting's agenda, to take it up together.
  const title = c.text.slice(0, 200);
  const onAgenda = room.state.agenda.some((item) => item.title === title)
    || room.pending("add_agenda_item").some((x) => x.title === title);
  return h("div", { class: `owner-report ${said.outcome}` },
    h("p", {}, t(`console.reported_${said.outcome}`, { date: formatDate(said.day, B.lang) }),
      said.note ? [": ", bdi(said.note)] : null),
    confirmable && outcome !== said.outcome
      ? h("button", { type: "button", class: "primary", onclick: () => send(said.outcome), text: t(`console.confirm_report_${said.outcome}`) })
      : null,
    said.outcome === "stuck" && !onAgenda
      ? h("button", { type: "button", class: "to-agenda", onclick: () => room.send("add_agenda_item", { title, minutes: 10, kind: "discussion" }), text: t("console.stuck_to_agenda") })
      : null);
}

function reviewControls(c) {
  const key = `r${c.id}`;
  const send = (outcome, extra = {}) => room.send("review", { commitment_id: c.id, outcome, ...extra });
  const outcome = c.review?.outcome;
  return h("li", {},
    userText("strong", c.text),
    h("span", { class: "meta" }, person(c.owner), " ", presence(room.state, c.owner), " · ", t("commitment.due_on", { date: formatDate(c.due, B.lang) }),
      c.times_slipped ? ` · ${t("commitment.slipped_times", { count: c.times_slipped })}` : ""),
    h("span", { class: `outcome ${outcome || ""}`, text: outcome ? t(`outcome.${outcome}`) : t("outcome.none") }),
    ownerReport(c, outcome, send),
    h("div", { class: "choice-row" },
      h("button", { type: "button", onclick: () => send("done"), text: t("outcome.done") }),
      h("button", { type: "button", onclick: () => send("on_track"), text: t("outcome.on_track") }),
      h("form", { class: "choice-row", onsubmit: (e) => { e.preventDefault(); send("slipped", { new_due: drafts[`${key}d`] }); } },
        field(`${key}d`, { type: "date", required: true, min: todayIso(), "aria-label": t("field.new_due") }),
        h("button", { type: "submit", text: t("outcome.slipped") })),
      h("form", { class: "choice-row", onsubmit: (e) => { e.preventDefault(); send("dropped", { reason: drafts[`${key}r`] }); } },
        field(`${key}r`, { required: true, maxlength: 500, placeholder: t("field.reason"), "aria-label": t("field.reason") }),
        h("button", { type: "submit", text: t("outcome.dropped") }))));
}

function openerPanel(s) {
  const counts = s.tally || {};
  const flagged = s.blockers.filter((b) => counts[String(b.id)]).sort((a, b) => counts[String(b.id)] - counts[String(a.id)]);
  return [
    h("p", {}, t("console.respondents", { count: s.respondents || 0, total: s.attendance.length })),
    tallyBars(s, B.lang),
    h("h3", { text: t("console.agreed_actions") }),
    h("ul", { class: "list" }, flagged.map((b) => {
      const key = `a${b.id}`;
      if (drafts[key] === undefined && s.opener_actions[String(b.id)]) drafts[key] = s.opener_actions[String(b.id)];
      const names = room.namedAnswers[String(b.id)] || [];
      return h("li", {}, h("strong", { text: B.lang === "he" ? b.he : b.en }),
        names.length ? h("p", { class: "meta" }, t("console.named_by"), " ", nameList(names, B.lang)) : null,
        h("form", { class: "choice-row", onsubmit: (e) => { e.preventDefault(); room.send("record_opener_action", { blocker_id: b.id, text: drafts[key] || "" }); } },
          field(key, { maxlength: 2000, "aria-label": t("console.agreed_actions") }),
          h("button", { type: "submit", text: t("form.save") })));
    })),
  ];
}

// An item's clock: counting on the item on screen, stopped (and said so) while it is paused, and
// the time kept by an item shown earlier.
function timer(s, item) {
  const current = item.id === s.meeting.current_item_id;
  if (!current && !item.elapsed_seconds) return null;
  const left = itemSecondsLeft(s.meeting, item);
  const paused = current && !s.meeting.item_started_at;
  return h("span", { class: `timer ${left < 0 ? "over" : ""} ${current ? "" : "kept"}`, "data-timer": item.id },
    h("span", { dir: "ltr", text: clockText(left) }),
    paused ? h("span", { class: "badge", text: t("agenda.paused") }) : null);
}

// Announced once the server has moved the item, for whoever moved it with the keyboard.
function announce(text) {
  const box = document.getElementById("announce");
  if (box) box.textContent = text;
}

function moveButtons(s, item, at) {
  const count = s.agenda.length;
  if (count < 2) return null;
  // Both buttons stay in place (aria-disabled at the ends), so the focus stays on the button
  // pressed while the item travels, and a keyboard user can press it again.
  const button = (dir, to, label) => h("button", {
    type: "button", class: "icon", "data-key": `${dir}${item.id}`, "aria-disabled": to < 1 || to > count ? "true" : null,
    "aria-label": t(label, { title: item.title }),
    onclick: () => {
      if (to < 1 || to > count) return;
      submitForm(`move${item.id}`, "move_agenda_item", { item_id: item.id, position: to },
        () => announce(t("agenda.moved", { title: item.title, position: to, total: count })));
    },
    text: dir === "up" ? "↑" : "↓",
  });
  return [button("up", at, "agenda.move_up_label"), button("down", at + 2, "agenda.move_down_label")];
}

function agendaPanel(s) {
  // The lobby prepares the order; the agenda stage runs the items.
  const running = s.meeting.stage === "agenda";
  return h("ol", { class: "list agenda" }, s.agenda.map((item, at) => {
    const key = `d${item.id}`;
    if (drafts[key] === undefined && item.decision) drafts[key] = item.decision;
    const current = item.id === s.meeting.current_item_id;
    const paused = current && !s.meeting.item_started_at;
    const strategy = item.strategy_id ? s.strategies.find((x) => x.id === item.strategy_id)?.title : null;
    return h("li", { class: current ? "current" : "" },
      h("div", { class: "item-head" },
        userText("strong", item.title),
        h("span", { class: "order" }, moveButtons(s, item, at))),
      h("span", { class: "meta" }, t(`kind.${item.kind}`), " · ", t("agenda.minutes", { count: item.minutes }),
        strategy ? [" · ", bdi(strategy)] : null,
        item.presenter ? [" · ", t("field.presenter"), ": ", bdi(item.presenter)] : null),
      running ? timer(s, item) : null,
      formStatus(`move${item.id}`),
      running ? h("div", { class: "choice-row" },
        h("button", { type: "button", class: current ? "" : "primary", onclick: () => room.send("focus_item", { item_id: current ? null : item.id }),
          text: current ? t("agenda.unfocus") : t("agenda.focus") }),
        current ? h("button", { type: "button", "data-key": `clock${item.id}`, class: paused ? "primary" : "",
          onclick: () => room.send(paused ? "resume_item" : "pause_item", { item_id: item.id }),
          text: paused ? t("agenda.resume") : t("agenda.pause") }) : null) : null,
      running ? h("form", { class: "stack", onsubmit: (e) => { e.preventDefault(); room.send("record_decision", { item_id: item.id, text: drafts[key] || "" }); } },
        h("label", {}, t("agenda.decision"), field(key, { tag: "textarea", rows: 2, maxlength: 2000, dir: "auto" })),
        h("button", { type: "submit", text: t("form.save") })) : null);
  }));
}

function ownerOptions(s, key) {
  const present = presentIds(s);
  const others = B.people.filter((p) => !present.has(p.id));
  const select = field(key, { tag: "select", required: true, "aria-label": t("field.owner") });
  select.append(h("option", { value: "", text: "—" }),
    h("optgroup", { label: t("console.present") }, s.attendance.map((p) => h("option", { value: String(p.id), text: `${p.name}${p.organization ? ` · ${p.organization}` : ""}` }))),
    h("optgroup", { label: t("console.network") }, others.map((p) => h("option", { value: String(p.id), text: `${p.name}${p.organization ? ` · ${p.organization}` : ""}` }))));
  if (drafts[key]) select.value = drafts[key];
  return select;
}

function commitmentText(s, c) {
  const strategy = c.strategy_id ? s.strategies.find((x) => x.id === c.strategy_id)?.title : null;
  return [userText("strong", c.text),
    h("span", { class: "meta" }, person(c.owner), " ", presence(s, c.owner), " · ", t("commitment.due_on", { date: formatDate(c.due, B.lang) }),
      strategy ? [" · ", bdi(strategy)] : null)];
}

function strategySelect(s, key) {
  const sel = field(key, { tag: "select", "aria-label": t("field.strategy") });
  // An archived strategy is offered only to the commitment that already links to it.
  const offered = s.strategies.filter((x) => !x.archived || String(x.id) === drafts[key]);
  sel.append(h("option", { value: "", text: "—" }), ...offered.map((x) => h("option", { value: String(x.id), text: x.title })));
  if (drafts[key]) sel.value = drafts[key];
  return sel;
}

function proposalItem(s, c) {
  const key = `turn${c.id}`;
  return h("li", {}, commitmentText(s, c),
    h("div", { class: "choice-row" },
      h("button", { type: "button", class: "primary", onclick: () => room.send("confirm", { commitment_id: c.id }), text: t("console.confirm") }),
      h("form", { class: "choice-row", onsubmit: (e) => {
          e.preventDefault();
          submitForm(key, "confirm", { commitment_id: c.id, accept: false, reason: drafts[`${key}r`] || null }, () => { delete drafts[`${key}r`]; });
        } },
        field(`${key}r`, { maxlength: 500, placeholder: t("console.turn_down_why"), "aria-label": t("console.turn_down_why"), dir: "auto" }),
        h("button", { type: "submit", text: t("console.reject") }))),
    formStatus(key));
}

// A confirmed commitment: shown, or (while `editing` names it) its edit form, or the question
// whether to withdraw it.
let editing = null;
let withdrawing = null;

function madeItem(s, c) {
  const key = `edit${c.id}`;
  if (editing === c.id) {
    return h("li", {}, h("form", { class: "stack", onsubmit: (e) => {
        e.preventDefault();
        submitForm(key, "edit_commitment", { commitment_id: c.id, text: drafts[`${key}t`], owner_id: Number(drafts[`${key}o`]),
          due: drafts[`${key}d`], strategy_id: drafts[`${key}s`] ? Number(drafts[`${key}s`]) : null },
        () => { editing = null; for (const k of ["t", "o", "d", "s"]) delete drafts[`${key}${k}`]; });
      } },
      h("label", {}, t("phone.what_will_you_do"), field(`${key}t`, { tag: "textarea", required: true, maxlength: 500, rows: 2, dir: "auto" })),
      h("label", {}, t("field.owner"), ownerOptions(s, `${key}o`)),
      h("label", {}, t("field.due"), field(`${key}d`, { type: "date", required: true, min: s.meeting.day || s.meeting.scheduled_on })),
      s.strategies.length ? h("label", {}, t("field.strategy"), strategySelect(s, `${key}s`)) : null,
      formStatus(key),
      h("div", { class: "choice-row" },
        h("button", { type: "submit", class: "primary", text: t("form.save") }),
        h("button", { type: "button", onclick: () => { editing = null; delete forms[key]; render(); }, text: t("console.keep_as_is") }))));
  }
  const wkey = `withdraw${c.id}`;
  return h("li", {}, commitmentText(s, c),
    withdrawing === c.id
      ? h("form", { class: "choice-row", onsubmit: (e) => {
          e.preventDefault();
          submitForm(wkey, "withdraw_commitment", { commitment_id: c.id, reason: drafts[`${wkey}r`] || null }, () => { withdrawing = null; delete drafts[`${wkey}r`]; });
        } },
        h("span", { text: t("console.withdraw_question") }),
        field(`${wkey}r`, { maxlength: 500, placeholder: t("console.withdraw_why"), "aria-label": t("console.withdraw_why"), dir: "auto" }),
        h("button", { type: "submit", class: "danger", text: t("console.withdraw") }),
        h("button", { type: "button", onclick: () => { withdrawing = null; delete forms[wkey]; render(); }, text: t("console.keep_as_is") }))
      : h("div", { class: "choice-row" },
        h("button", { type: "button", onclick: () => {
            editing = c.id;
            Object.assign(drafts, { [`${key}t`]: c.text, [`${key}o`]: String(c.owner.id), [`${key}d`]: c.due, [`${key}s`]: c.strategy_id ? String(c.strategy_id) : "" });
            render();
          }, text: t("console.edit") }),
        h("button", { type: "button", onclick: () => { withdrawing = c.id; render(); }, text: t("console.withdraw") })),
    formStatus(wkey));
}

function commitmentsPanel(s) {
  const proposed = s.commitments.filter((c) => c.status === "proposed");
  const made = s.commitments.filter((c) => c.status !== "proposed");
  const unreviewed = s.reopened.filter((c) => !c.review?.outcome);
  return [
    // A forgotten carried commitment is reviewed right here, not three stages back.
    unreviewed.length ? h("section", { id: "unreviewed", class: "attention" }, h("h3", { text: t("console.still_to_review") }),
      h("ul", { class: "list" }, unreviewed.map(reviewControls))) : null,
    proposed.length ? h("section", { id: "proposals" }, h("h3", { text: t("console.proposals") }),
      h("ul", { class: "list" }, proposed.map((c) => proposalItem(s, c)))) : null,
    h("h3", { id: "made", text: t("console.made") }),
    made.length ? h("ul", { class: "list" }, made.map((c) => madeItem(s, c))) : h("p", { class: "muted", text: t("console.none_yet") }),
    h("form", { id: "add-commitment", class: "card stack", onsubmit: (e) => {
        e.preventDefault();
        submitForm("add", "add_commitment", { text: drafts.ctext, owner_id: drafts.cowner ? Number(drafts.cowner) : null, due: drafts.cdue || null,
          strategy_id: drafts.cstrategy ? Number(drafts.cstrategy) : null }, () => { drafts.ctext = ""; });
      } },
      h("h3", { text: t("console.add_commitment") }),
      h("label", {}, t("phone.what_will_you_do"), field("ctext", { tag: "textarea", required: true, maxlength: 500, rows: 2, dir: "auto" })),
      h("label", {}, t("field.owner"), ownerOptions(s, "cowner")),
      h("label", {}, t("field.due"), field("cdue", { type: "date", required: true, min: s.meeting.day || s.meeting.scheduled_on })),
      h("label", {}, t("field.strategy"), strategySelect(s, "cstrategy")),
      formStatus("add"),
      h("button", { type: "submit", class: "primary", text: t("console.add_commitment") })),
  ];
}

// A console that watched the close has no `next` in its copy (the snapshot has it only for a
// closed meeting): ask the server for it once.
let nextAsked = false;

async function askNext() {
  if (nextAsked) return;
  nextAsked = true;
  const response = await fetch(`/api/m/${B.meeting_id}/snapshot`, { credentials: "same-origin" });
  if (response.ok && room.state) {
    const fresh = await response.json();
    room.state.next = room.state.next?.meeting ? room.state.next : fresh.next;
    render();
  } else {
    nextAsked = false;
  }
}

// The next meeting of the group: shown once there is one, else a form prefilled with the same
// weekday, time and place some weeks on (the server's suggestion), sent in one step.
function nextMeeting(s) {
  if (!s.next?.suggested && !s.next?.meeting) { askNext(); return null; }
  const next = s.next?.meeting;
  if (next) {
    return h("section", { class: "card next-meeting", id: "next-meeting" }, h("h3", { text: t("console.next_meeting") }),
      h("p", {}, userText("strong", next.title), " · ", meetingWhen(next, B.lang)),
      h("p", { class: "actions" }, h("a", { class: "button", href: `/m/${next.id}/edit`, text: t("home.prepare") })));
  }
  const suggested = s.next?.suggested;
  if (!suggested) return null;
  for (const [key, value] of [["ntitle", suggested.title], ["nday", suggested.scheduled_on], ["ntime", suggested.starts_at], ["nplace", suggested.place]]) {
    if (drafts[key] === undefined) drafts[key] = value || "";
  }
  const copy = h("input", { type: "checkbox", "data-key": "ncopy", checked: Boolean(drafts.ncopy), onchange: (e) => { drafts.ncopy = e.target.checked; } });
  return h("form", { class: "card stack next-meeting", id: "next-meeting", onsubmit: (e) => {
      e.preventDefault();
      submitForm("next", "schedule_next", { title: drafts.ntitle, scheduled_on: drafts.nday, starts_at: drafts.ntime || null,
        place: drafts.nplace || null, copy_agenda: Boolean(drafts.ncopy) },
      () => { for (const k of ["ntitle", "nday", "ntime", "nplace", "ncopy"]) delete drafts[k]; });
    } },
    h("h3", { text: t("console.schedule_next") }),
    h("label", {}, t("field.title"), field("ntitle", { required: true, maxlength: 200, dir: "auto" })),
    h("div", { class: "row-form" },
      h("label", {}, t("field.scheduled_on"), field("nday", { type: "date", required: true, min: todayIso() })),
      h("label", {}, t("field.starts_at"), field("ntime", { type: "time" })),
      h("label", {}, t("field.place"), field("nplace", { maxlength: 200, dir: "auto" }))),
    s.agenda.length ? h("label", { class: "inline-check" }, copy, t("console.copy_agenda", { count: s.agenda.length })) : null,
    formStatus("next"),
    h("button", { type: "submit", class: "primary", text: t("console.schedule_next_button") }));
}

function summary(s) {
  return [
    h("p", { class: "actions" }, h("a", { class: "button", href: `/m/${B.meeting_id}/summary`, target: "_blank", rel: "noopener", text: t("console.record_link") })),
    h("p", {}, t("console.attendance", { count: s.attendance.length })),
    s.respondents ? tallyBars(s, B.lang) : null, // a round nobody answered shows no empty bars
    h("h3", { text: t("console.made") }),
    h("ul", { class: "list" }, s.commitments.map((c) => h("li", {}, userText("strong", c.text), h("span", { class: "meta" }, person(c.owner), " · ", formatDate(c.due, B.lang))))),
    nextMeeting(s),
  ];
}

function main(s) {
  switch (s.meeting.stage) {
    case "lobby": return [h("p", { text: t("console.lobby_help") }), agendaPanel(s)];
    case "review": return s.reopened.length ? h("ul", { class: "list" }, s.reopened.map(reviewControls)) : h("p", { class: "muted", text: t("console.nothing_reopened") });
    case "opener": return openerPanel(s);
    case "agenda": return agendaPanel(s);
    case "commitments": return commitmentsPanel(s);
    default: return summary(s);
  }
}

function render() {
  const s = room.state;
  if (!s) return;
  const error = lastError ? h("div", { class: "error", role: "alert" }, h("p", { text: lastError.message }),
    lastError.details?.length ? h("ul", {}, lastError.details.map((d) => h("li", { text: d }))) : null) : null;
  redraw(app, h("div", { class: "console-main" },
    userText("h1", s.meeting.title),
    h("p", { class: "muted" }, bdi(s.group.name), " · ", meetingWhen(s.meeting, B.lang)),
    stepper(s.meeting.stage), moves(s.meeting.stage), error,
    h("section", { class: "card" }, h("h2", { text: t(`stage.${s.meeting.stage}`) }), main(s))), side(s));
}

// The item timer ticks without re-rendering the page.
setInterval(() => {
  const s = room.state;
  if (!s) return;
  for (const el of document.querySelectorAll("[data-timer]")) {
    const item = s.agenda.find((x) => String(x.id) === el.dataset.timer);
    if (item) el.replaceWith(timer(s, item) || el);
  }
}, 1000);

room.connect();
