// The wall: values always on screen, the join address and code large in the lobby and in a
// corner strip until the close, the review's outcomes as they come, the opener as live bars, the
// agenda item with its timer, the commitments as they are made, and a summary at the close. It
// only watches, and nothing on it ever needs scrolling: long lists page themselves (pager.js).
import {
  LiveRoom, bdi, boot, clockText, fill, formatDate, h, itemSecondsLeft, statusLine, tallyBars, translator, valuesStrip,
} from "./live.js";
import { Pager } from "./pager.js";

const B = boot();
const t = translator(B.strings);
const app = document.getElementById("app");
const joinBox = document.getElementById("join-box");
// `?page_seconds=N` (1 to 60) sets how long a page of a long list stays up; 9 s by default.
const asked = Number(new URLSearchParams(location.search).get("page_seconds"));
const pager = new Pager({
  seconds: asked >= 1 && asked <= 60 ? asked : 9,
  label: (page, pages) => t("projector.page", { page, pages }),
});
// The wall speaks to the room: it sends nothing, so it has nothing to keep.
const WALL_STATUS = { connecting: "projector.connecting", reconnecting: "projector.reconnecting" };

const room = new LiveRoom({
  meetingId: B.meeting_id, face: "projector", lang: B.lang, hello: () => ({ view: B.view }),
  onStatus: (s) => statusLine(t, s, WALL_STATUS),
  onChange: (event, payload) => {
    // What just changed comes on screen, whichever page it is on.
    const stage = room.state?.meeting.stage;
    if (payload?.commitment?.id) pager.reveal(stage, payload.commitment.id);
    if (event === "agenda_focus" && payload.item_id) pager.reveal(stage, payload.item_id);
    render();
  },
});

function owner(c) {
  return [bdi(c.owner.name), c.owner.organization ? [" · ", bdi(c.owner.organization)] : null];
}

// A date is read whole: it never breaks across lines.
const when = (text) => h("span", { class: "nowrap", text });

function currentItem(s) {
  return s.agenda.find((x) => x.id === s.meeting.current_item_id);
}

function clock(s) {
  const item = currentItem(s);
  if (!item) return null;
  const left = itemSecondsLeft(s.meeting, item);
  const paused = !s.meeting.item_started_at;
  return h("div", { class: `clock${paused ? " paused" : ""}`, id: "clock" },
    h("span", { class: `timer${left < 0 ? " over" : ""}`, dir: "ltr", text: clockText(left) }),
    paused ? h("span", { class: "paused", text: t("projector.paused") }) : null);
}

// A row of a paged list: the text (in its own direction: an English commitment on a Hebrew wall
// aligns and wraps as English), then a line of who and when, then (review) the outcome.
function row(tag, id, text, meta, outcome = null) {
  return h(tag, { class: "row", "data-id": String(id) },
    h("strong", { class: "text", dir: "auto", text }), h("span", { class: "meta" }, meta), outcome);
}

function stageView(s) {
  switch (s.meeting.stage) {
    case "lobby":
      return [h("p", { class: "joined", text: t("projector.joined", { count: s.attendance.length }) })];
    case "review":
      return [h("h2", { text: t("projector.review") }),
        s.reopened.length ? h("ul", { class: "list", "data-pages": "review" }, s.reopened.map((c) => row("li", c.id, c.text,
          [owner(c), " · ", when(t("commitment.due_on", { date: formatDate(c.due, B.lang) })),
            c.times_slipped ? ` · ${t("commitment.slipped_times", { count: c.times_slipped })}` : ""],
          h("span", { class: `outcome ${c.review?.outcome || ""}`,
            text: c.review?.outcome ? t(`outcome.${c.review.outcome}`) : t("outcome.none") }))))
          : h("p", { class: "muted", text: t("console.nothing_reopened") })];
    case "opener":
      return [h("h2", { text: t("projector.opener") }),
        h("p", { class: "muted", text: t("console.respondents", { count: s.respondents || 0, total: s.attendance.length }) }),
        tallyBars(s, B.lang, "opener")];
    case "agenda": {
      const item = currentItem(s);
      return [item ? h("section", { class: "now" },
          h("div", {}, h("h2", { dir: "auto", text: item.title }),
            item.presenter ? h("p", { class: "meta" }, t("projector.presenter"), " ", bdi(item.presenter)) : null,
            item.decision ? h("p", { class: "decision" }, t("agenda.decision"), ": ", bdi(item.decision)) : null),
          clock(s)) : null,
        h("ol", { class: "list", "data-pages": "agenda" }, s.agenda.map((x) => h("li", {
          class: `row${x.id === s.meeting.current_item_id ? " current" : ""}`, "data-id": String(x.id) },
          h("strong", { class: "text", dir: "auto", text: x.title }),
          h("span", { class: "meta" }, t("agenda.minutes", { count: x.minutes }),
            x.presenter ? [" · ", bdi(x.presenter)] : null))))];
    }
    case "commitments":
      return [h("h2", { text: t("projector.commitments") }),
        h("ul", { class: "list", "data-pages": "commitments" }, s.commitments.map((c) => row("li", c.id, c.text,
          [owner(c), " · ", when(formatDate(c.due, B.lang)), c.status === "proposed" ? ` · ${t("status.proposed")}` : ""])))];
    default: {
      const counts = s.tally || {};
      const top = s.blockers.filter((b) => counts[String(b.id)]).sort((a, b) => counts[String(b.id)] - counts[String(a.id)]).slice(0, 3);
      const decided = s.agenda.filter((x) => x.decision);
      return [h("h2", { text: t("projector.summary") }),
        h("p", { class: "muted" }, t("projector.joined", { count: s.attendance.length }),
          top.length ? [" · ", t("projector.top_blockers"), ": ", top.map((b) => (B.lang === "he" ? b.he : b.en)).join(" · ")] : null),
        h("div", { class: "list", "data-pages": "closed" },
          decided.length ? h("h3", { text: t("projector.decisions") }) : null,
          decided.map((x) => row("div", `item-${x.id}`, x.title, h("span", { dir: "auto", text: x.decision }))),
          s.commitments.length ? h("h3", { text: t("projector.commitments") }) : null,
          s.commitments.map((c) => row("div", c.id, c.text, [owner(c), " · ", when(formatDate(c.due, B.lang))])))];
    }
  }
}

function render() {
  const s = room.state;
  if (!s) return;
  const stage = s.meeting.stage;
  document.body.classList.toggle("lobby", stage === "lobby");
  joinBox.hidden = stage === "closed";
  // However many values a network has, they take a fixed strip and take turns in it (the lobby
  // gives them the room the stage leaves).
  const values = valuesStrip(t, s.values);
  values.dataset.pages = "values";
  fill(app, values,
    h("header", { class: "wall-head" },
      h("h1", {}, bdi(s.meeting.title), h("span", { class: "muted" }, " · ", t(`stage.${stage}`))),
      h("span", { class: "page-of", "data-page-of": stage, hidden: true })),
    h("div", { class: `stage ${stage}` }, ...stageView(s)));
  pager.layout(app);
}

setInterval(() => {
  const el = document.getElementById("clock");
  if (el && room.state) el.replaceWith(clock(room.state) || el);
}, 1000);
addEventListener("resize", () => pager.layout(app));
document.fonts?.ready.then(() => pager.layout(app));

room.connect();
