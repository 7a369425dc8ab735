// The facilitator's console: the stage and its moves, the gates as a live checklist, and the
// controls of each stage. The server decides everything; this page asks and shows.
import { LiveRoom, bdi, boot, field as draftField, fill, formatDate, h, statusLine, tallyBars, todayIso, translator } from "./live.js";

const B = boot();
const t = translator(B.strings);
const app = document.getElementById("app");
const viewLink = app.dataset.viewLink;
const STAGES = ["lobby", "review", "opener", "agenda", "commitments", "closed"];
const drafts = {};
let lastError = null;
let gatesTimer = null;

const room = new LiveRoom({
  meetingId: B.meeting_id, face: "console", lang: B.lang, hello: () => ({}),
  onStatus: (s) => statusLine(t, s),
  onChange: (kind) => { if (kind !== "welcome" && kind !== "tally" && kind !== "outbox") refreshGates(); render(); },
  onError: (msg) => { lastError = msg; render(); },
  onAck: () => { lastError = null; },
});

// The gate checklist comes from the server itself, a moment after anything changes.
function refreshGates() {
  clearTimeout(gatesTimer);
  gatesTimer = setTimeout(async () => {
    const response = await fetch(`/api/m/${B.meeting_id}/snapshot`, { credentials: "same-origin" });
    if (response.ok && room.state) { room.state.gates = (await response.json()).gates; render(); }
  }, 250);
}

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

function gates(s) {
  const items = s.gates.map((g) => h("li", { text: t(g.key, g.params) }));
  return h("section", { class: "card" }, h("h2", { text: t("console.gates") }),
    items.length ? h("ul", { class: "gates" }, items) : h("ul", { class: "gates" }, h("li", { class: "ok", text: t("console.ready_to_close") })));
}

function side(s) {
  return h("aside", {},
    gates(s),
    h("section", { class: "card" },
      h("h2", {}, t("console.attendance", { count: s.attendance.length })),
      s.meeting.join_code ? h("p", {}, t("join.code"), ": ", h("strong", { dir: "ltr", class: "code", text: s.meeting.join_code })) : null,
      viewLink ? h("p", {}, h("a", { href: viewLink, target: "_blank", rel: "noopener", text: t("console.projector_link") })) : null,
      h("ul", { class: "list compact" }, s.attendance.map((p) => h("li", {}, person(p))))),
    h("section", { class: "card values-card" }, h("h2", { text: t("values.title") }),
      h("ul", { class: "values" }, s.values.map((v) => h("li", {}, h("strong", { text: v.title }), ": ", v.behaviours.join(" · "))))));
}

function reviewControls(c) {
  const key = `r${c.id}`;
  const send = (outcome, extra = {}) => room.send("review", { commitment_id: c.id, outcome, ...extra });
  const outcome = c.review?.outcome;
  return h("li", {},
    h("strong", {}, bdi(c.text)),
    h("span", { class: "meta" }, person(c.owner), " · ", t("commitment.due_on", { date: formatDate(c.due, B.lang) }),
      c.times_slipped ? ` · ${t("commitment.slipped_times", { count: c.times_slipped })}` : ""),
    h("span", { class: `outcome ${outcome || ""}`, text: outcome ? t(`outcome.${outcome}`) : t("outcome.none") }),
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
      return h("li", {}, h("strong", { text: B.lang === "he" ? b.he : b.en }),
        h("form", { class: "choice-row", onsubmit: (e) => { e.preventDefault(); room.send("record_opener_action", { blocker_id: b.id, text: drafts[key] || "" }); } },
          field(key, { maxlength: 2000, "aria-label": t("console.agreed_actions") }),
          h("button", { type: "submit", text: t("form.save") })));
    })),
  ];
}

function timer(s, item) {
  if (item.id !== s.meeting.current_item_id || !s.meeting.item_started_at) return null;
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(s.meeting.item_started_at)) / 1000));
  const left = item.minutes * 60 - seconds;
  const shown = `${left < 0 ? "-" : ""}${Math.floor(Math.abs(left) / 60)}:${String(Math.abs(left) % 60).padStart(2, "0")}`;
  return h("span", { class: `timer ${left < 0 ? "over" : ""}`, dir: "ltr", "data-timer": item.id, text: shown });
}

function agendaPanel(s) {
  return h("ol", { class: "list" }, s.agenda.map((item) => {
    const key = `d${item.id}`;
    if (drafts[key] === undefined && item.decision) drafts[key] = item.decision;
    const current = item.id === s.meeting.current_item_id;
    return h("li", { class: current ? "current" : "" },
      h("strong", {}, bdi(item.title)),
      h("span", { class: "meta" }, t(`kind.${item.kind}`), " · ", t("agenda.minutes", { count: item.minutes }),
        item.strategy_id ? ` · ${s.strategies.find((x) => x.id === item.strategy_id)?.title || ""}` : ""),
      timer(s, item),
      h("div", { class: "choice-row" },
        h("button", { type: "button", class: current ? "" : "primary", onclick: () => room.send("focus_item", { item_id: current ? null : item.id }),
          text: current ? t("agenda.unfocus") : t("agenda.focus") })),
      h("form", { class: "stack", onsubmit: (e) => { e.preventDefault(); room.send("record_decision", { item_id: item.id, text: drafts[key] || "" }); } },
        h("label", {}, t("agenda.decision"), field(key, { tag: "textarea", rows: 2, maxlength: 2000 })),
        h("button", { type: "submit", text: t("form.save") })));
  }));
}

function ownerOptions(s) {
  const present = new Set(s.attendance.map((p) => p.id));
  const others = B.people.filter((p) => !present.has(p.id));
  const select = field("cowner", { tag: "select", required: true, "aria-label": t("field.owner") });
  select.append(h("option", { value: "", text: "—" }),
    h("optgroup", { label: t("console.present") }, s.attendance.map((p) => h("option", { value: String(p.id), text: `${p.name}${p.organization ? ` · ${p.organization}` : ""}` }))),
    h("optgroup", { label: t("console.network") }, others.map((p) => h("option", { value: String(p.id), text: `${p.name}${p.organization ? ` · ${p.organization}` : ""}` }))));
  if (drafts.cowner) select.value = drafts.cowner;
  return select;
}

function commitmentsPanel(s) {
  const proposed = s.commitments.filter((c) => c.status === "proposed");
  const made = s.commitments.filter((c) => c.status !== "proposed");
  return [
    proposed.length ? h("section", {}, h("h3", { text: t("console.proposals") }),
      h("ul", { class: "list" }, proposed.map((c) => h("li", {}, h("strong", {}, bdi(c.text)),
        h("span", { class: "meta" }, person(c.owner), " · ", t("commitment.due_on", { date: formatDate(c.due, B.lang) })),
        h("div", { class: "choice-row" },
          h("button", { type: "button", class: "primary", onclick: () => room.send("confirm", { commitment_id: c.id }), text: t("console.confirm") }),
          h("button", { type: "button", onclick: () => room.send("confirm", { commitment_id: c.id, accept: false }), text: t("console.reject") })))))) : null,
    h("h3", { text: t("console.made") }),
    made.length ? h("ul", { class: "list" }, made.map((c) => h("li", {}, h("strong", {}, bdi(c.text)),
      h("span", { class: "meta" }, person(c.owner), " · ", t("commitment.due_on", { date: formatDate(c.due, B.lang) }))))) : h("p", { class: "muted", text: t("console.none_yet") }),
    h("form", { class: "card stack", onsubmit: (e) => {
        e.preventDefault();
        room.send("add_commitment", { text: drafts.ctext, owner_id: drafts.cowner ? Number(drafts.cowner) : null, due: drafts.cdue || null,
          strategy_id: drafts.cstrategy ? Number(drafts.cstrategy) : null });
        drafts.ctext = "";
        render();
      } },
      h("h3", { text: t("console.add_commitment") }),
      h("label", {}, t("phone.what_will_you_do"), field("ctext", { tag: "textarea", required: true, maxlength: 500, rows: 2 })),
      h("label", {}, t("field.owner"), ownerOptions(s)),
      h("label", {}, t("field.due"), field("cdue", { type: "date", required: true, min: todayIso() })),
      h("label", {}, t("field.strategy"), (() => { const sel = field("cstrategy", { tag: "select" });
        sel.append(h("option", { value: "", text: "—" }), ...s.strategies.map((x) => h("option", { value: String(x.id), text: x.title })));
        if (drafts.cstrategy) sel.value = drafts.cstrategy; return sel; })()),
      h("button", { type: "submit", class: "primary", text: t("console.add_commitment") })),
  ];
}

function summary(s) {
  return [
    h("p", {}, t("console.attendance", { count: s.attendance.length })),
    tallyBars(s, B.lang),
    h("h3", { text: t("console.made") }),
    h("ul", { class: "list" }, s.commitments.map((c) => h("li", {}, bdi(c.text), h("span", { class: "meta" }, person(c.owner), " · ", formatDate(c.due, B.lang))))),
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
  const focused = document.activeElement?.dataset?.key;
  const error = lastError ? h("div", { class: "error", role: "alert" }, h("p", { text: lastError.message }),
    lastError.details?.length ? h("ul", {}, lastError.details.map((d) => h("li", { text: d }))) : null) : null;
  fill(app, h("div", { class: "console-main" },
    h("h1", {}, bdi(s.meeting.title)),
    h("p", { class: "muted" }, bdi(s.group.name), " · ", formatDate(s.meeting.scheduled_on, B.lang)),
    stepper(s.meeting.stage), moves(s.meeting.stage), error,
    h("section", { class: "card" }, h("h2", { text: t(`stage.${s.meeting.stage}`) }), main(s))), side(s));
  if (focused) app.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
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
