// The phone: join once (remembered on this phone), then follow the meeting stage by stage.
import { bdi, boot, field as draftField, fill, formatDate, h, LiveRoom, meetingWhen, newId, redraw, statusLine, todayIso, translator, userText, valueItem } from "./live.js";

const B = boot();
const t = translator(B.strings);
const app = document.getElementById("app");
const PERSON_KEY = "facilitator-person";
const drafts = {};
let room = null;
// The code this phone joins with: the page's, or, once a released name sends the phone back to
// the join form, the code of the meeting it was in.
let joinCode = B.code;
let lastError = null;
let notice = null;

function saved() {
  try { return JSON.parse(localStorage.getItem(PERSON_KEY) || "null"); } catch { return null; }
}

function remember(data) {
  try { localStorage.setItem(PERSON_KEY, JSON.stringify(data)); } catch { /* private mode */ }
}

// Many people joining at once (a hall scanning the QR together): the server says when to try
// again, and the phone does, by itself, with the same message id (never joining twice).
async function join(body) {
  for (let tries = 0; ; tries += 1) {
    const response = await fetch("/api/join", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (response.ok) { busyNotice(null); return data; }
    if (response.status === 429 && data.error?.key === "join.busy") {
      busyNotice(data.error.message);
      // Spread out: the phones told to wait together must not all come back together.
      const wait = Math.min(30, (data.error.retry_after || 3) * (1 + Math.random()) + Math.min(tries, 10));
      await new Promise((done) => setTimeout(done, wait * 1000));
      continue;
    }
    busyNotice(null);
    throw Object.assign(new Error("join"), { detail: data.error, status: response.status });
  }
}

function busyNotice(message) {
  let line = document.getElementById("join-busy");
  if (!message) { line?.remove(); return; }
  if (!line) {
    line = h("p", { class: "notice", id: "join-busy", role: "status" });
    app.prepend(line);
  }
  line.textContent = message;
}

const field = (key, attrs) => draftField(drafts, key, attrs);

// The network's own spellings, offered as one types: a typed hyphen still finds the en dash the
// network stores, and a tap puts that spelling in. Best effort only: offline, or refused, the
// form works as it is and the server matches the spelling anyway.
const SUGGEST_AFTER_MS = 250;
let suggestTimer = null;
let suggestAsked = 0;

async function suggestions(typed, name) {
  try {
    const query = new URLSearchParams({ q: typed, organization: typed, name });
    const response = await fetch(`/api/join/${encodeURIComponent(joinCode)}/suggest?${query}`);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function offer(list, names, pick) {
  fill(list, names.map((name) => h("li", {}, h("button", { type: "button", class: "choice", onclick: () => pick(name) }, bdi(name)))));
  list.hidden = !names.length;
}

// Look the organization up a moment after the typing stops; what comes back is offered, and
// the people of the organization it names are filtered by the name typed so far.
function suggest(form) {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const typed = form.org.value.trim();
    const asked = ++suggestAsked;
    const found = typed && joinCode ? await suggestions(typed, form.name.value.trim()) : null;
    if (asked !== suggestAsked) return; // a later keystroke asked again
    form.found = found;
    showSuggestions(form);
  }, SUGGEST_AFTER_MS);
}

function showSuggestions(form) {
  const typedOrg = form.org.value.trim();
  const typedName = form.name.value.trim();
  const people = (form.found?.people || []).filter((n) => n !== typedName && n.toLocaleLowerCase().includes(typedName.toLocaleLowerCase()));
  offer(form.orgChoices, (form.found?.organizations || []).filter((n) => n !== typedOrg), (picked) => {
    form.org.value = drafts.org = picked;
    form.orgChoices.hidden = true;
    suggest(form);
    form.name.focus();
  });
  offer(form.peopleChoices, people, (picked) => {
    form.name.value = drafts.name = picked;
    form.peopleChoices.hidden = true;
  });
}

// --- the roster at the door ----------------------------------------------------------------------
// A phone picks itself from the group's roster: its organization, then its name (narrowed on the
// server as it types); or searches its name, which, from two letters on, also looks through the
// rest of the network. A pick asks "is this you?" and joins with that name and organization, the
// same join as a typed one. One debounced request per pause in typing, one per tap: a cheap phone
// on bad Wi-Fi waits for nothing else, and the typed form below works without any of it.
const ROSTER_AFTER_MS = 300;
// `searched` and `listed` number the searches and the organization lists asked for: an answer
// that is no longer the latest of its kind is dropped.
const pick = { orgs: null, org: null, people: null, found: null, chosen: null, error: null, searched: 0, listed: 0, timer: null };

async function rosterAsk(params) {
  try {
    const response = await fetch(`/api/join/${encodeURIComponent(joinCode)}/roster?${new URLSearchParams(params)}`);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function personButton(p, withOrg) {
  return h("li", {}, h("button", { type: "button", class: "choice person", onclick: () => { pick.chosen = p; pick.error = null; drawRoster(); } },
    h("span", { dir: "auto", class: "who" }, p.name), withOrg ? h("span", { dir: "auto", class: "meta" }, p.organization) : null));
}

function rosterResults() {
  if (pick.org) {
    const people = pick.found ? pick.found.people : pick.people;
    if (!people) return h("p", { class: "muted", text: t("live.loading") });
    return people.length ? h("ul", { class: "choices roster-list", id: "roster-people" }, people.map((p) => personButton(p, false)))
      : h("p", { class: "muted", text: t("phone.found_none") });
  }
  if (!pick.found) return null;
  const { people, others } = pick.found;
  if (!people.length && !others.length) return h("p", { class: "muted", text: t("phone.found_none") });
  return [
    people.length ? h("ul", { class: "choices roster-list", id: "roster-found" }, people.map((p) => personButton(p, true))) : null,
    others.length ? [h("h3", { text: t("phone.found_elsewhere") }),
      h("ul", { class: "choices roster-list", id: "roster-others" }, others.map((p) => personButton(p, true)))] : null,
  ];
}

function rosterHead() {
  if (pick.org) {
    return [h("h2", { dir: "auto", text: pick.org.name }), h("p", { class: "muted", text: t("phone.roster_pick_name") })];
  }
  if (!pick.orgs?.length) return null;
  return [h("h2", { text: t("phone.roster_title") }),
    h("ul", { class: "choices roster-list", id: "roster-orgs" }, pick.orgs.map((o) => h("li", {},
      h("button", { type: "button", class: "choice org", onclick: () => chooseOrg(o) },
        h("span", { dir: "auto", class: "who" }, o.name), h("span", { class: "meta", text: t("phone.roster_people", { count: o.people }) })))))];
}

async function chooseOrg(o) {
  // A search still waiting to be sent would come after this tap and make its answer stale.
  clearTimeout(pick.timer);
  Object.assign(pick, { org: o, people: null, found: null, error: null });
  const box = document.querySelector("#roster input[name=find]");
  if (box) box.value = "";
  drawRoster();
  pick.searched++; // a search on its way was for the list before this tap
  const asked = ++pick.listed;
  const answer = await rosterAsk({ organization: String(o.id) });
  if (asked !== pick.listed || pick.org !== o) return;
  pick.people = answer ? answer.people : [];
  drawRoster();
}

function findTyped(input) {
  clearTimeout(pick.timer);
  pick.timer = setTimeout(async () => {
    const typed = input.value.trim();
    const asked = ++pick.searched;
    // An empty box asks nothing: it drops searches on their way, never a tapped organization's
    // list (that left a phone on "Loading…" for good when the list came slower than 300 ms).
    if (!typed) { pick.found = null; drawRoster(); return; }
    const answer = await rosterAsk(pick.org ? { organization: String(pick.org.id), q: typed } : { q: typed });
    if (asked !== pick.searched) return; // a later keystroke asked again
    pick.found = answer || { people: [], others: [] };
    drawRoster();
  }, ROSTER_AFTER_MS);
}

async function joinAs(p) {
  const button = document.getElementById("roster-join");
  if (button) button.disabled = true;
  try {
    joined(await join({ code: joinCode, name: p.name, organization: p.organization, client_msg_id: newId() }));
  } catch (error) {
    Object.assign(pick, { chosen: null, error: error.detail?.message || t("live.offline") });
    drawRoster();
  }
}

// Draws the roster card's changing parts; the search box itself stays, so typing keeps its focus.
function drawRoster() {
  const card = document.getElementById("roster");
  if (!card) return;
  const [head, search, results, confirmBox] = ["roster-head", "roster-search", "roster-results", "roster-confirm"].map((id) => document.getElementById(id));
  const chosen = pick.chosen;
  search.hidden = Boolean(chosen);
  head.hidden = results.hidden = Boolean(chosen);
  confirmBox.hidden = !chosen;
  if (chosen) {
    fill(confirmBox, h("h2", { text: t("phone.is_this_you") }),
      h("p", { class: "chosen" }, h("strong", { dir: "auto", text: chosen.name }), h("span", { dir: "auto", class: "meta", text: chosen.organization })),
      h("button", { type: "button", class: "primary big", id: "roster-join", onclick: () => joinAs(chosen) }, t("phone.join_as", { name: "" }), bdi(chosen.name)),
      h("button", { type: "button", id: "roster-not-me", onclick: () => { pick.chosen = null; drawRoster(); }, text: t("phone.not_me") }));
    document.getElementById("roster-join")?.focus();
    return;
  }
  fill(head, pick.error ? h("p", { class: "error", role: "alert", text: pick.error }) : null, rosterHead());
  const label = search.querySelector("span");
  label.textContent = t(pick.org ? "phone.find_in_org" : pick.orgs?.length ? "phone.find_name" : "phone.find_name_only");
  search.querySelector(".hint").hidden = Boolean(pick.org);
  fill(results, rosterResults(),
    pick.org ? h("button", { type: "button", class: "link", id: "roster-back", onclick: () => {
      Object.assign(pick, { org: null, people: null, found: null });
      search.querySelector("input").value = "";
      drawRoster();
    }, text: t("phone.roster_back") }) : null);
}

function rosterCard() {
  Object.assign(pick, { org: null, people: null, found: null, chosen: null, error: null });
  const input = h("input", { type: "search", name: "find", maxlength: 120, autocomplete: "off", dir: "auto", "aria-controls": "roster-results" });
  input.addEventListener("input", () => findTyped(input));
  const card = h("div", { id: "roster", class: "stack" },
    h("div", { id: "roster-head", class: "stack" }),
    h("label", { id: "roster-search" }, h("span", {}), input, h("span", { class: "muted hint", text: t("phone.find_hint") })),
    h("div", { id: "roster-results", class: "stack", "aria-live": "polite" }),
    h("div", { id: "roster-confirm", class: "stack", hidden: true }));
  if (pick.orgs === null) {
    rosterAsk({}).then((answer) => { pick.orgs = answer ? answer.organizations : []; drawRoster(); });
  }
  return card;
}

function showJoinForm(message) {
  const orgChoices = h("ul", { class: "choices", id: "org-choices", "aria-label": t("phone.org_suggestions"), hidden: true });
  const peopleChoices = h("ul", { class: "choices", id: "people-choices", "aria-label": t("phone.people_suggestions"), hidden: true });
  const org = field("org", { name: "organization", required: true, maxlength: 200, autocomplete: "organization", "aria-describedby": "org-hint", "aria-controls": "org-choices" });
  const name = field("name", { name: "name", required: true, maxlength: 120, autocomplete: "name", "aria-controls": "people-choices" });
  const form = { org, name, orgChoices, peopleChoices, found: null };
  org.addEventListener("input", () => suggest(form));
  name.addEventListener("input", () => { showSuggestions(form); suggest(form); });
  if (org.value) suggest(form); // shown again after a refusal: offer what fits what was typed
  const roster = rosterCard();
  fill(app, h("section", { class: "card roster-card" },
    h("h1", { text: t("phone.welcome") }),
    message ? h("p", { class: "error", role: "alert", text: message }) : null,
    roster),
  h("section", { class: "card", id: "new-here" },
    h("h2", { text: t("phone.new_here") }),
    h("p", { class: "muted hint", text: t("phone.new_here_hint") }),
    h("form", { class: "stack", onsubmit: onJoin },
      h("label", {}, t("field.organization"), org),
      h("p", { class: "muted hint", id: "org-hint", text: t("phone.pick_hint") }),
      orgChoices,
      h("label", {}, t("field.name"), name),
      peopleChoices,
      h("label", {}, t("phone.sector"),
        h("select", { name: "sector" }, h("option", { value: "", text: "—" }),
          ["government", "nonprofit", "business", "philanthropy", "community", "backbone"].map(
            (s) => h("option", { value: s, text: t(`sector.${s}`) })))),
      h("button", { type: "submit", class: "primary big", text: t("phone.join") }))));
  drawRoster();
}

async function onJoin(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = { code: joinCode, name: form.get("name"), organization: form.get("organization"),
    sector: form.get("sector") || null, client_msg_id: newId() };
  try {
    joined(await join(body));
  } catch (error) {
    showJoinForm(error.detail?.message || t("live.offline"));
  }
}

function forget() {
  try { localStorage.removeItem(PERSON_KEY); } catch { /* private mode */ }
}

// The join's answer: in, or (a name the network knew, that no phone holds) waiting for the
// facilitator's tap, with the token kept so that a reload goes on waiting.
function joined(data) {
  remember({ token: data.token, person: data.person });
  if (data.waiting) waitForFacilitator(data); else start(data.token);
}

const ASK_AGAIN_MS = 2000;
let waitTimer = null;
// Bumped by "Not me": an answer to an ask sent before it is for a request this phone left.
let waitGeneration = 0;

function waitForFacilitator(data) {
  clearTimeout(waitTimer);
  fill(app, h("section", { class: "card waiting-card", role: "status" },
    h("h1", { text: t("phone.waiting_title") }),
    h("p", {}, t("phone.waiting_for"), bdi(data.person.name), " · ", bdi(data.person.organization)),
    h("p", { class: "waiting-number", dir: "ltr", text: `#${data.waiting.number}` }),
    h("p", { class: "muted", text: t("phone.waiting_number") }),
    h("button", { type: "button", id: "waiting-not-me", onclick: () => { waitGeneration += 1; clearTimeout(waitTimer); forget(); showJoinForm(); }, text: t("phone.not_me") })));
  const generation = waitGeneration;
  waitTimer = setTimeout(async () => {
    try {
      const again = await join({ code: joinCode, token: data.token });
      if (generation !== waitGeneration) return;
      if (again.waiting) { waitForFacilitator(again); return; }
      remember({ token: data.token, person: again.person });
      start(data.token);
    } catch (error) {
      if (generation !== waitGeneration) return;
      // Refused (or the name taken meanwhile): back to the form, saying why.
      if (error.status === 403 || error.status === 409) { forget(); showJoinForm(error.detail?.message); return; }
      // The meeting closed or was called off: its code is void, nothing to wait for.
      if (error.status === 404) {
        forget();
        fill(app, h("section", { class: "card" }, h("p", { class: "error", role: "alert", text: error.detail?.message || t("phone.need_code") }),
          h("a", { href: `/join?lang=${B.lang}`, text: t("join.title") })));
        return;
      }
      waitForFacilitator(data); // offline or busy for now: ask again
    }
  }, ASK_AGAIN_MS);
}

async function enter() {
  const me = saved();
  if (!B.code) {
    // Reached by /p/{id}: the phone joined earlier (the code may be void now the meeting closed).
    if (me?.token) start(me.token); else app.replaceChildren(h("p", { class: "card", text: t("phone.need_code") }));
    return;
  }
  if (!me?.token) { showJoinForm(); return; }
  try {
    const data = await join({ code: B.code, token: me.token });
    if (data.waiting) { waitForFacilitator(data); return; }
    start(me.token);
  } catch (error) {
    if (error.detail?.key === "join.claim_refused") { forget(); showJoinForm(error.detail.message); return; }
    if (error.detail?.key === "join.token_unknown") { forget(); showJoinForm(error.detail.message); return; }
    if (error.detail) { fill(app, h("p", { class: "error", role: "alert", text: error.detail.message })); return; }
    // Offline: the socket retries by itself; what is queued waits in the outbox.
    start(me.token);
  }
}

function start(token) {
  // A reload (even after the meeting closed and its code went void) comes back here.
  history.replaceState(null, "", `/p/${B.meeting_id}`);
  room = new LiveRoom({
    meetingId: B.meeting_id, face: "phone", lang: B.lang,
    hello: () => ({ token }),
    onStatus: (s) => { statusLine(t, s); if (s === "signed_out") signedOut(); },
    onChange: (kind, payload) => {
      if (kind === "name_released" && payload.person.id === room.me?.person.id) { released(); return; }
      if ((kind === "commitment_rejected" || kind === "commitment_withdrawn") && mine(payload.commitment)) {
        told.push({ key: kind === "commitment_rejected" ? "phone.proposal_turned_down" : "phone.commitment_withdrawn",
          text: payload.commitment.text, reason: payload.reason });
      }
      if (kind !== "tally") render();
    },
    onError: (msg, command) => {
      const text = msg.details?.length ? `${msg.message} ${msg.details.join(" ")}` : msg.message;
      if (command?.type === "propose" && command.id === proposal.id) proposal.error = text;
      else lastError = text;
      render();
    },
    onAck: (_ack, command) => {
      lastError = null;
      // What the phone flagged is what it last sent and the server took.
      if (command?.type === "respond_opener" && room.me) {
        Object.assign(room.me, { opener: command.blockers, opener_named: command.anonymous === false, opener_sent: true });
        if (openerDraft?.sending === command.id) keepOpenerDraft(null);
      }
      if (command?.type === "propose" && command.id === proposal.id) {
        drafts.ptext = ""; drafts.pdue = ""; drafts.pstrategy = "";
        proposal = { id: null, error: null };
        notice = t("phone.proposal_sent");
      }
    },
  });
  room.connect();
}

// The facilitator released this phone's name, for the phone that should hold it: this one
// speaks for no one now. It forgets its token and offers the join form again.
function released() {
  const name = room?.me?.person?.name || saved()?.person?.name || "";
  joinCode = joinCode || room?.state?.meeting?.join_code || null;
  room?.stop();
  room = null;
  try { localStorage.removeItem(PERSON_KEY); } catch { /* private mode */ }
  keepOpenerDraft(null); // that person's unsent ticks are not the next person's
  drafts.name = drafts.org = ""; // never one tap away from taking the released name back
  statusLine(t, null);
  if (!joinCode) {
    fill(app, h("p", { class: "error", role: "alert", text: t("phone.released", { name }) }), h("p", { class: "card", text: t("phone.need_code") }));
    return;
  }
  history.replaceState(null, "", `/j/${joinCode}`);
  showJoinForm(t("phone.released", { name }));
}

// The server shut this phone out. After it was in, that is its name released (while it was
// away, perhaps); a phone that never got in keeps its token and is sent to the code instead.
function signedOut() {
  if (room?.me) { released(); return; }
  fill(app, h("p", { class: "card", text: t("phone.need_code") }));
}

const mine = (c) => room.me && c.owner.id === room.me.person.id;

function header(s) {
  return [
    userText("h1", s.meeting.title),
    h("p", { class: "muted when" }, meetingWhen(s.meeting, B.lang)),
    h("p", { class: "muted" }, t("phone.stage_now"), " ", h("strong", { text: t(`stage.${s.meeting.stage}`) })),
    h("details", { class: "card values-card", open: s.meeting.stage === "lobby" || s.meeting.stage === "closed" }, h("summary", { text: t("values.title") }),
      h("ul", { class: "values" }, s.values.map((v) => valueItem(v, B.lang)))),
  ];
}

function reviewCard(c) {
  const key = `review-${c.id}`;
  const outcome = c.review?.outcome;
  const send = (kind, extra = {}) => { room.send("review", { commitment_id: c.id, outcome: kind, ...extra }); };
  const waiting = room.pending("review").some((x) => x.commitment_id === c.id);
  return h("li", { class: "card" },
    userText("strong", c.text),
    h("span", { class: "meta" }, t("commitment.due_on", { date: formatDate(c.due, B.lang) }),
      c.times_slipped ? ` · ${t("commitment.slipped_times", { count: c.times_slipped })}` : ""),
    outcome ? h("span", { class: `outcome ${outcome}`, text: t(`outcome.${outcome}`) }) : null,
    waiting ? h("span", { class: "pending", text: t("live.sending") }) : null,
    h("div", { class: "choice-row" },
      h("button", { type: "button", onclick: () => send("done"), text: t("outcome.done") }),
      h("button", { type: "button", onclick: () => send("on_track"), text: t("outcome.on_track") })),
    h("form", { class: "choice-row", onsubmit: (e) => { e.preventDefault(); send("slipped", { new_due: drafts[`${key}-date`] }); } },
      h("label", {}, t("field.new_due"), field(`${key}-date`, { type: "date", required: true, min: todayIso() })),
      h("button", { type: "submit", text: t("outcome.slipped") })),
    h("form", { class: "choice-row", onsubmit: (e) => { e.preventDefault(); send("dropped", { reason: drafts[`${key}-reason`] }); } },
      h("label", {}, t("field.reason"), field(`${key}-reason`, { required: true, maxlength: 500 })),
      h("button", { type: "submit", text: t("outcome.dropped") })));
}

// The phone's own opener answer, always shown as it stands: ticks not sent yet (kept across
// redraws and reloads), an answer waiting in the outbox, or the answer the server took.
const OPENER_KEY = `facilitator-opener-${B.meeting_id}`;
let openerDraft = (() => { try { return JSON.parse(localStorage.getItem(OPENER_KEY) || "null"); } catch { return null; } })();

function keepOpenerDraft(draft) {
  openerDraft = draft;
  try {
    if (draft) localStorage.setItem(OPENER_KEY, JSON.stringify(draft)); else localStorage.removeItem(OPENER_KEY);
  } catch { /* private mode */ }
}

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

// The draft is this person's (a phone can change hands) and, once sent, names its command: it
// is dropped only when the server takes that answer, so a refused one is still there, unsent.
function openerAnswer() {
  const queued = room.pending("respond_opener").at(-1);
  const sent = { blockers: room.me?.opener || [], named: Boolean(room.me?.opener_named) };
  const answered = sent.blockers.length > 0 || room.me?.opener_sent === true;
  const draft = openerDraft && openerDraft.person === room.me?.person.id ? openerDraft : null;
  if (draft) {
    if (draft.sending && queued?.id === draft.sending) return { ...draft, state: "sending" };
    const changed = !answered || !sameSet(draft.blockers, sent.blockers) || draft.named !== sent.named;
    if (changed || (queued && !draft.sending)) return { ...draft, state: "draft" };
  }
  if (queued) return { blockers: queued.blockers, named: queued.anonymous === false, state: "sending" };
  return { ...sent, state: answered ? "sent" : "new" };
}

function openerForm(s) {
  const answer = openerAnswer();
  const chosen = new Set(answer.blockers);
  const pick = (form) => ({
    blockers: [...form.querySelectorAll("input[name=blocker]:checked")].map((x) => Number(x.value)),
    named: form.querySelector("input[name=named]").checked,
  });
  const boxes = s.blockers.map((b) => h("li", {}, h("label", {},
    h("input", { type: "checkbox", name: "blocker", value: String(b.id), checked: chosen.has(b.id) }),
    B.lang === "he" ? b.he : b.en)));
  const status = {
    draft: h("p", { class: "pending", role: "status", text: t("phone.opener_not_sent") }),
    sending: h("p", { class: "pending", role: "status", text: t("live.sending") }),
    sent: h("p", { class: "sent", role: "status", "data-opener": "sent", text: t("phone.opener_sent_mark") }),
    new: null,
  }[answer.state];
  return h("form", { class: "stack", "data-opener-state": answer.state,
    onchange: (e) => { keepOpenerDraft({ ...pick(e.currentTarget), person: room.me.person.id }); render(); },
    onsubmit: (e) => {
      e.preventDefault();
      const picked = pick(e.target);
      const id = room.send("respond_opener", { blockers: picked.blockers, anonymous: !picked.named });
      keepOpenerDraft({ ...picked, person: room.me.person.id, sending: id });
      render();
    } },
    h("p", { text: t("phone.opener_help") }),
    h("ul", { class: "checklist" }, boxes),
    h("label", { class: "inline-check" }, h("input", { type: "checkbox", name: "named", checked: answer.named }), t("phone.not_anonymous")),
    h("p", { class: "meta", text: t("phone.named_where") }),
    status,
    h("button", { type: "submit", class: "primary big", text: t("phone.send_opener") }));
}

// A proposal's text stays in the form until the server takes it; a refusal is shown beside it.
let proposal = { id: null, error: null };

function proposeForm(s) {
  const sending = proposal.id && room.pending("propose").some((c) => c.id === proposal.id);
  return h("form", { class: "card stack", onsubmit: (e) => {
      e.preventDefault();
      proposal = { id: room.send("propose", { text: drafts.ptext, due: drafts.pdue, strategy_id: drafts.pstrategy ? Number(drafts.pstrategy) : null }), error: null };
      render();
    } },
    h("h2", { text: t("phone.propose") }),
    h("label", {}, t("phone.what_will_you_do"), field("ptext", { tag: "textarea", required: true, maxlength: 500, rows: 3, dir: "auto" })),
    h("label", {}, t("field.due"), field("pdue", { type: "date", required: true, min: todayIso() })),
    s.strategies.length ? h("label", {}, t("field.strategy"),
      (() => { const sel = field("pstrategy", { tag: "select" });
        sel.append(h("option", { value: "", text: "—" }), ...s.strategies.map((x) => h("option", { value: String(x.id), text: x.title })));
        if (drafts.pstrategy) sel.value = drafts.pstrategy; return sel; })()) : null,
    proposal.error ? h("p", { class: "error", role: "alert", text: proposal.error }) : null,
    sending ? h("p", { class: "pending", role: "status", text: t("live.sending") }) : null,
    h("button", { type: "submit", class: "primary big", text: t("phone.send_proposal"), disabled: Boolean(sending) }));
}

// What the facilitator did to this phone's own commitments stays on screen until read.
let told = [];

function toldCards() {
  if (!told.length) return null;
  return h("section", { class: "card told", role: "alert" }, told.map((x, i) => h("div", { class: "stack" },
    h("p", {}, t(x.key), " ", userText("strong", x.text)),
    x.reason ? h("p", {}, t("phone.reason_given"), ": ", bdi(x.reason)) : null,
    h("button", { type: "button", onclick: () => { told = told.filter((_, j) => j !== i); render(); }, text: t("phone.got_it") }))));
}

function myCommitments(s) {
  const list = s.commitments.filter(mine);
  // The proposal still in the form is shown there; others queued (after a reload) show here.
  const queued = room.pending("propose").filter((c) => c.id !== proposal.id);
  if (!list.length && !queued.length) return null;
  return h("section", { class: "card" }, h("h2", { text: t("phone.my_commitments") }),
    h("ul", { class: "list" },
      list.map((c) => h("li", {}, userText("strong", c.text),
        h("span", { class: "meta" }, t("commitment.due_on", { date: formatDate(c.due, B.lang) }), " · ", t(`status.${c.status}`)))),
      queued.map((c) => h("li", {}, userText("strong", c.text), h("span", { class: "pending", text: t("live.sending") })))));
}

function agendaList(s) {
  return h("ol", { class: "list" }, s.agenda.map((item) => h("li", { class: item.id === s.meeting.current_item_id ? "current" : "" },
    userText("strong", item.title), h("span", { class: "meta" }, t("agenda.minutes", { count: item.minutes }), item.id === s.meeting.current_item_id ? ` · ${t("agenda.now")}` : ""),
    item.decision ? h("span", {}, t("agenda.decision"), ": ", bdi(item.decision)) : null)));
}

function body(s) {
  const stage = s.meeting.stage;
  const reopened = s.reopened.filter(mine);
  switch (stage) {
    case "lobby":
      return [h("section", { class: "card" }, h("h2", {}, t("phone.hello", { name: room.me.person.name })), h("p", { text: t("phone.lobby") })), agendaList(s)];
    case "review":
      return [h("h2", { text: t("phone.my_reopened") }),
        reopened.length ? h("ul", { class: "list" }, reopened.map(reviewCard)) : h("p", { class: "card", text: t("phone.nothing_to_report") })];
    case "opener":
      return [h("h2", { text: t("stage.opener") }), openerForm(s)];
    case "agenda":
      return [agendaList(s), proposeForm(s), myCommitments(s)];
    case "commitments":
      return [proposeForm(s), myCommitments(s)];
    case "closed":
      return [h("section", { class: "card" }, h("h2", { text: t("phone.thanks") }), h("p", { text: t("phone.closed") })),
        afterTheClose(s),
        myCommitments(s),
        reopened.length ? h("section", { class: "card" }, h("h2", { text: t("phone.my_reopened") }),
          h("ul", { class: "list" }, reopened.map((c) => h("li", {}, userText("strong", c.text),
            h("span", { class: `outcome ${c.review?.outcome || ""}`, text: c.review?.outcome ? t(`outcome.${c.review.outcome}`) : t("outcome.none") }))))) : null];
    default:
      return [];
  }
}

// The phone's token goes in a posted form, never in an address: a person may share a link, and
// the token speaks for them.
function withToken(action, label, cls) {
  const token = saved()?.token;
  if (!token) return null;
  return h("form", { method: "post", action, class: "inline" },
    h("input", { type: "hidden", name: "token", value: token }),
    h("button", { type: "submit", class: cls, text: label }));
}

// After the close: the meeting's record, my open commitments for my calendar, and when the group
// meets next, once the facilitator has set it.
function afterTheClose(s) {
  const next = s.next?.meeting;
  return h("section", { class: "card" },
    h("div", { class: "actions" },
      withToken(`/m/${B.meeting_id}/summary?lang=${B.lang}`, t("phone.record"), "primary"),
      withToken("/p/commitments.ics", t("phone.calendar"), ""),
      withToken("/p/me", t("phone.my_page"), "")),
    next ? h("p", {}, t("phone.next_meeting"), " ", userText("strong", next.title), " · ", meetingWhen(next, B.lang)) : null);
}

function render() {
  if (!room?.state || !room.me) return;
  const s = room.state;
  redraw(app, ...header(s),
    lastError ? h("p", { class: "error", role: "alert", text: lastError }) : null,
    notice ? h("p", { class: "notice", role: "status", text: notice }) : null,
    toldCards(),
    ...body(s));
  notice = null;
}

enter();
