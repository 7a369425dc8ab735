// The wall: values always on screen, the join code large in the lobby and small afterwards,
// the review's outcomes as they come, the opener as live bars, the agenda item with its timer,
// the commitments as they are made, and a summary at the close. It only watches.
import { LiveRoom, bdi, boot, fill, formatDate, h, statusLine, tallyBars, translator, valuesStrip } from "./live.js";

const B = boot();
const t = translator(B.strings);
const app = document.getElementById("app");
const joinBox = document.getElementById("join-box");

const room = new LiveRoom({
  meetingId: B.meeting_id, face: "projector", lang: B.lang, hello: () => ({ view: B.view }),
  onStatus: (s) => statusLine(t, s),
  onChange: () => render(),
});

function owner(c) {
  return h("span", { class: "meta" }, bdi(c.owner.name), c.owner.organization ? [" · ", bdi(c.owner.organization)] : null);
}

function clock(s) {
  const item = s.agenda.find((x) => x.id === s.meeting.current_item_id);
  if (!item || !s.meeting.item_started_at) return null;
  const left = item.minutes * 60 - Math.floor((Date.now() - Date.parse(s.meeting.item_started_at)) / 1000);
  const shown = `${left < 0 ? "-" : ""}${Math.floor(Math.abs(left) / 60)}:${String(Math.abs(left) % 60).padStart(2, "0")}`;
  return h("span", { class: `timer ${left < 0 ? "over" : ""}`, dir: "ltr", id: "clock", text: shown });
}

function stageView(s) {
  switch (s.meeting.stage) {
    case "lobby":
      return [h("p", { class: "muted", text: t("projector.joined", { count: s.attendance.length }) })];
    case "review":
      return [h("h2", { text: t("projector.review") }),
        s.reopened.length ? h("ul", { class: "list" }, s.reopened.map((c) => h("li", {},
          h("strong", {}, bdi(c.text)),
          h("span", {}, owner(c), " · ", t("commitment.due_on", { date: formatDate(c.due, B.lang) }),
            c.times_slipped ? ` · ${t("commitment.slipped_times", { count: c.times_slipped })}` : ""),
          h("span", { class: `outcome ${c.review?.outcome || ""}`, text: c.review?.outcome ? t(`outcome.${c.review.outcome}`) : t("outcome.none") }))))
          : h("p", { class: "muted", text: t("console.nothing_reopened") })];
    case "opener":
      return [h("h2", { text: t("projector.opener") }),
        h("p", { class: "muted", text: t("console.respondents", { count: s.respondents || 0, total: s.attendance.length }) }),
        tallyBars(s, B.lang)];
    case "agenda": {
      const item = s.agenda.find((x) => x.id === s.meeting.current_item_id);
      return [item ? h("section", {}, h("h2", {}, bdi(item.title), " ", clock(s)),
          item.decision ? h("p", {}, t("agenda.decision"), ": ", bdi(item.decision)) : null) : null,
        h("ol", { class: "list" }, s.agenda.map((x) => h("li", { class: x.id === s.meeting.current_item_id ? "current" : "" },
          h("span", {}, bdi(x.title), h("span", { class: "meta" }, " · ", t("agenda.minutes", { count: x.minutes }))))))];
    }
    case "commitments":
      return [h("h2", { text: t("projector.commitments") }),
        h("ul", { class: "list" }, s.commitments.map((c) => h("li", {}, h("strong", {}, bdi(c.text)),
          h("span", {}, owner(c), " · ", formatDate(c.due, B.lang), c.status === "proposed" ? ` · ${t("status.proposed")}` : ""))))];
    default: {
      const counts = s.tally || {};
      const top = s.blockers.filter((b) => counts[String(b.id)]).sort((a, b) => counts[String(b.id)] - counts[String(a.id)]).slice(0, 3);
      return [h("h2", { text: t("projector.summary") }),
        h("p", {}, t("projector.joined", { count: s.attendance.length })),
        top.length ? h("p", {}, t("projector.top_blockers"), ": ", top.map((b) => (B.lang === "he" ? b.he : b.en)).join(" · ")) : null,
        h("ul", { class: "list" }, s.agenda.filter((x) => x.decision).map((x) => h("li", {}, h("strong", {}, bdi(x.title)), bdi(x.decision)))),
        h("h2", { text: t("projector.commitments") }),
        h("ul", { class: "list" }, s.commitments.map((c) => h("li", {}, h("strong", {}, bdi(c.text)), h("span", {}, owner(c), " · ", formatDate(c.due, B.lang)))))];
    }
  }
}

function render() {
  const s = room.state;
  if (!s) return;
  document.body.classList.toggle("lobby", s.meeting.stage === "lobby");
  joinBox.hidden = s.meeting.stage === "closed";
  fill(app, valuesStrip(t, s.values),
    h("h1", {}, bdi(s.meeting.title), h("span", { class: "muted" }, " · ", t(`stage.${s.meeting.stage}`))),
    ...stageView(s));
}

setInterval(() => {
  const el = document.getElementById("clock");
  if (el && room.state) el.replaceWith(clock(room.state) || el);
}, 1000);

room.connect();
