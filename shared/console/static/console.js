// The dingfn console page. Every view arrives as JSON on one server-sent
// event stream (/console/api/stream) and is drawn with DOM calls; the
// buttons POST JSON to /console/api/… and the stream shows the outcome.
// No logic lives here: the server computes every number and status.

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
}

const fmtTime = (s) => (s ? new Date(s).toLocaleString() : "—");
const fmtClock = (s) => (s ? new Date(s).toLocaleTimeString() : "—");

function fmtDuration(sec) {
  if (sec === undefined || sec === null) return "—";
  const neg = sec < 0;
  sec = Math.abs(Math.round(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const out = h ? `${h} h ${m} min` : m ? `${m} min ${s} s` : `${s} s`;
  return neg ? `${out} ago` : out;
}

const status = (s) => el("span", { class: `status ${s}`, text: s });

function toast(message, bad = false) {
  const t = el("div", { class: bad ? "toast bad" : "toast", text: message });
  $("#toasts").append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

async function post(path, body = {}) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let j = {};
  try { j = await r.json(); } catch { /* empty answer */ }
  if (!r.ok) throw new Error(j.message || j.error || `HTTP ${r.status}`);
  return j;
}

async function act(button, path, body) {
  button.disabled = true;
  try {
    const j = await post(path, body);
    if (j.message) toast(j.message);
    return j;
  } catch (e) {
    toast(e.message, true);
    return null;
  } finally {
    button.disabled = false;
  }
}

const list = (s) => s.split(/[\s,，]+/).map((x) => x.trim()).filter(Boolean);

// ---- overview

let overview = { panels: [] };

function renderOverview(v) {
  overview = v;
  $("#mode").textContent = v.mode === "simulated" ? "Simulated DingTalk" : "DingTalk";
  $("#corp").textContent = v.corp_name || "";
  const has = (p) => v.panels.includes(p);
  $("#sim-controls").hidden = !has("org-simulator");
  $("#sim-col").hidden = !has("org-simulator");
  $("#events-panel").hidden = !has("events");
  $("#tokens-panel").hidden = !has("tokens");
  $("#notices-panel").hidden = !has("notices");
  $("#robots-panel").hidden = !has("robots");
  $("#approvals-panel").hidden = !has("approvals");
  $("#sync-now").hidden = !v.can_sync;
}

// ---- organisation

const known = { mirror: null, simulator: null };

function renderTree(target, v, prev) {
  const before = new Set();
  if (prev) walk(prev.roots, (d) => (d.members || []).forEach((p) => before.add(`${d.id}/${p.userid}/${p.name}`)));
  const dept = (d) => {
    const members = el("div", { class: "members" },
      (d.members || []).map((p) => el("span", {
        class: `person${p.leader ? " leader" : ""}${prev && !before.has(`${d.id}/${p.userid}/${p.name}`) ? " fresh" : ""}`,
        "data-userid": p.userid, title: p.userid,
      }, p.name, p.title ? el("span", { class: "title", text: p.title }) : null)));
    return el("li", { "data-dept": d.id },
      el("details", { open: true },
        el("summary", {}, d.name, el("span", { class: "count", text: `${d.member_count} · #${d.id}` })),
        members,
        d.children && d.children.length ? el("ul", {}, d.children.map(dept)) : null));
  };
  target.replaceChildren(v.roots.length ? el("ul", {}, v.roots.map(dept)) : el("p", { class: "empty", text: v.source === "mirror" ? "The mirror is empty until the first sync." : "No departments." }));
  if (v.members_omitted) target.append(el("p", { class: "empty", text: `${v.users} people: members are listed for organisations of up to 2 000.` }));
}

function walk(roots, f) {
  for (const d of roots || []) { f(d); walk(d.children, f); }
}

function fillSelects(v) {
  const depts = [], users = new Map();
  walk(v.roots, (d) => { depts.push(d); (d.members || []).forEach((p) => users.set(p.userid, p)); });
  for (const s of document.querySelectorAll(".dept-select")) {
    const keep = s.value;
    s.replaceChildren(...depts.map((d) => el("option", { value: d.id, text: `${d.name} (#${d.id})` })));
    if (keep) s.value = keep;
  }
  for (const s of document.querySelectorAll(".user-select")) {
    const keep = s.value;
    s.replaceChildren(...[...users.values()].sort((a, b) => a.name.localeCompare(b.name)).map((p) => el("option", { value: p.userid, text: `${p.name} (${p.userid})` })));
    if (keep && users.has(keep)) s.value = keep;
  }
}

function renderMirror(v) {
  renderTree($("#mirror-tree"), v, known.mirror);
  known.mirror = v;
  $("#mirror-synced").textContent = v.synced_at ? `· last complete sync ${fmtTime(v.synced_at)}` : "· never synced";
  if (!overview.panels.includes("org-simulator")) fillSelects(v);
}

function renderSimulator(v) {
  renderTree($("#sim-tree"), v, known.simulator);
  known.simulator = v;
  fillSelects(v);
}

// ---- event log

let lastEvents = null;

function renderEvents(v) {
  const filter = $("#events-filter").value;
  const seen = new Set((lastEvents ? lastEvents.events : []).map((e) => `${e.id}/${e.status}`));
  lastEvents = v;
  const rows = v.events.filter((e) => !filter || e.status === filter).map((e) => el("tr", { "data-event": e.id, "data-type": e.type, class: lastEvents && seen.size && !seen.has(`${e.id}/${e.status}`) ? "fresh" : null },
    el("td", { class: "mono", text: fmtClock(e.received_at), title: fmtTime(e.received_at) }),
    el("td", {},
      el("div", { class: "mono", text: e.type }),
      e.subject ? el("div", { class: "empty", text: e.subject }) : null,
      el("details", { class: "payload" }, el("summary", { text: e.id }), el("pre", { text: JSON.stringify(e.payload, null, 2) }))),
    el("td", {}, status(e.status), e.attempts > 1 ? el("div", { class: "empty", text: `${e.attempts} attempts` }) : null,
      e.last_error ? el("div", { class: "err", text: e.last_error }) : null),
    el("td", {}, (e.handlers || []).map((h) => el("div", { title: h.last_error || "" }, status(h.status), " ", el("span", { class: "mono", text: h.name })))),
    el("td", {}, el("button", { type: "button", class: "small", "data-replay": e.id, onclick: (ev) => act(ev.target, `/console/api/events/${encodeURIComponent(e.id)}/replay`, {}) }, "Replay"))));
  $("#event-log tbody").replaceChildren(...rows);
  $("#events-empty").hidden = rows.length > 0;
}

// ---- sync

function renderSync(v) {
  const bar = $("#sync-progress");
  bar.hidden = !v.running;
  $("#sync-now").disabled = v.running;
  if (v.running) {
    const p = v.progress;
    const total = known.simulator ? known.simulator.departments : known.mirror ? known.mirror.departments : 0;
    const pct = p && total ? Math.min(100, Math.round((100 * p.departments_seen) / total)) : 5;
    bar.querySelector(".bar").style.width = `${pct}%`;
    bar.querySelector(".label").textContent = p
      ? `${p.departments_seen}${total ? " / " + total : ""} departments · ${p.users_seen} people · ${p.api_calls} API calls · ${(p.duration_ms / 1000).toFixed(1)} s`
      : "starting…";
  }
  const facts = [];
  if (v.last_complete) {
    const c = v.last_complete;
    facts.push(["last complete walk", `${fmtTime(c.completed_at)} (${c.ticks} tick${c.ticks === 1 ? "" : "s"})`]);
    facts.push(["mirror", `${c.users} people, ${c.departments} departments`]);
    facts.push(["changes", `${c.totals.users.created + c.totals.departments.created} created, ${c.totals.users.updated + c.totals.departments.updated} updated, ${c.totals.users.deleted + c.totals.departments.deleted} deleted`]);
    facts.push(["deletion guard", c.guard_ok ? `ok (limit ${c.guard_limit})` : `tripped (limit ${c.guard_limit})`]);
  } else {
    facts.push(["last complete walk", "never"]);
  }
  if (v.walk) facts.push(["walk in progress", `${v.walk.departments_seen} departments, ${v.walk.users_seen} people so far, ${v.walk.queued_departments} queued`]);
  $("#sync-last-complete").replaceChildren(...facts.flatMap(([k, x]) => [el("dt", { text: k }), el("dd", { text: x })]));
  const last = v.last;
  $("#sync-last").replaceChildren(last ? el("div", {},
    el("h3", { text: `last tick · ${last.trigger} · ${fmtTime(last.at)}` }),
    last.error ? el("p", { class: "err", text: last.error }) : null,
    el("div", { class: "steps", id: "sync-steps" }, last.steps.map((s) => el("div", { class: "step", "data-step": s.step },
      el("strong", { text: s.step }), " ", status(s.status), " ", stepSummary(s))))) : el("p", { class: "empty", text: "No tick seen by this console yet." }));
}

function stepSummary(s) {
  if (s.step === "directory" && s.departments_seen !== undefined)
    return `${s.departments_seen} departments, ${s.users_seen} people · ${s.created} created, ${s.updated} updated, ${s.deleted} deleted · ${s.api_calls} API calls · ${s.duration_ms} ms`;
  if (s.error) return s.error;
  const skip = new Set(["step", "status", "ok", "skipped"]);
  return Object.entries(s).filter(([k, x]) => !skip.has(k) && typeof x !== "object").map(([k, x]) => `${k} ${x}`).join(" · ");
}

// ---- tokens

function renderTokens(v) {
  $("#tokens tbody").replaceChildren(...v.tokens.map((t) => el("tr", { "data-kind": t.kind },
    el("td", { class: "mono", text: t.kind }),
    el("td", {}, status(t.health), t.capped ? el("div", { class: "empty", text: "at its 24 h limit" }) : null),
    el("td", { text: t.stored ? fmtDuration(t.expires_in_s) : "—", title: fmtTime(t.expires_at) }),
    el("td", { text: t.stored ? fmtDuration(t.age_s) : "—", title: fmtTime(t.fetched_at) }),
    el("td", { class: "mono", text: t.fetched_by || "—" }))));
}

// ---- notices

function renderNotices(v) {
  const rows = v.notices.map((n) => el("tr", { "data-notice": n.id },
    el("td", { class: "mono", text: fmtClock(n.created_at), title: fmtTime(n.created_at) }),
    el("td", {}, el("div", { text: n.title || "(no text)" }), el("div", { class: "empty mono", text: `${n.msgtype} · ${n.id} · ${n.caller}` })),
    el("td", { text: n.to_all ? "everyone" : [n.users ? `${n.users} people` : "", n.dept_ids && n.dept_ids.length ? `departments ${n.dept_ids.join(", ")}` : ""].filter(Boolean).join(", ") }),
    el("td", {}, status(n.status), el("div", { class: "empty", text: `${n.sent}/${n.parts} parts sent${n.pending ? `, ${n.pending} waiting` : ""}${n.failed ? `, ${n.failed} failed` : ""}` }),
      n.warnings.length ? el("div", { class: "err", text: n.warnings.join(", ") }) : null)));
  $("#notice-list tbody").replaceChildren(...rows);
  $("#notices-empty").hidden = rows.length > 0;
}

// ---- robots and approvals

function renderRobots(v) {
  $("#robot-messages").replaceChildren(...v.messages.map((m) => {
    const body = el("div", { class: "body" });
    // The server renders the markdown without raw HTML or unsafe links.
    body.innerHTML = m.html;
    return el("div", { class: "msg" }, el("div", { class: "meta", text: `${m.robot || "unknown robot"} · ${m.msgtype} · ${fmtTime(m.time)}` }),
      m.title ? el("strong", { text: m.title }) : null, body);
  }));
  $("#robots-empty").hidden = v.messages.length > 0;
}

function renderApprovals(v) {
  $("#approvals tbody").replaceChildren(...v.approvals.map((a) => el("tr", { "data-approval": a.id },
    el("td", { class: "mono", text: fmtClock(a.created_at) }),
    el("td", {}, el("div", { text: a.title }), el("div", { class: "empty mono", text: a.id })),
    el("td", {}, status(a.status), a.result ? ` ${a.result}` : ""),
    el("td", {}, a.status === "RUNNING" ? [
      el("button", { type: "button", class: "small", onclick: (ev) => act(ev.target, "/console/api/simulator/finish-approval", { instance_id: a.id, result: "agree" }) }, "Agree"), " ",
      el("button", { type: "button", class: "small danger", onclick: (ev) => act(ev.target, "/console/api/simulator/finish-approval", { instance_id: a.id, result: "refuse" }) }, "Refuse"),
    ] : null))));
  $("#approvals-empty").hidden = v.approvals.length > 0;
}

// ---- wiring

const renderers = {
  "overview": renderOverview, "org-mirror": renderMirror, "org-simulator": renderSimulator, "events": renderEvents,
  "sync": renderSync, "tokens": renderTokens, "notices": renderNotices, "robots": renderRobots, "approvals": renderApprovals,
};

function connect() {
  const es = new EventSource("/console/api/stream");
  es.onopen = () => { const l = $("#live"); l.className = "live on"; l.textContent = "live"; };
  es.onerror = () => { const l = $("#live"); l.className = "live off"; l.textContent = "reconnecting"; };
  for (const [topic, render] of Object.entries(renderers)) {
    es.addEventListener(topic, (e) => {
      try { render(JSON.parse(e.data)); } catch (err) { console.error(topic, err); }
    });
  }
  es.addEventListener("view-error", (e) => { const v = JSON.parse(e.data); toast(`${v.view}: ${v.message}`, true); });
}

function wire() {
  const sim = (action, body) => (ev) => act(ev.target, `/console/api/simulator/${action}`, body());
  $("#sim-add-btn").addEventListener("click", async (ev) => {
    const j = await act(ev.target, "/console/api/simulator/add-user", { name: $("#sim-add-name").value, dept_id: Number($("#sim-add-dept").value) });
    if (j) $("#sim-add-name").value = "";
  });
  $("#sim-move-btn").addEventListener("click", sim("move-user", () => ({ userid: $("#sim-user").value, dept_ids: [Number($("#sim-move-dept").value)] })));
  $("#sim-rename-user-btn").addEventListener("click", sim("rename-user", () => ({ userid: $("#sim-user").value, name: $("#sim-rename-user").value })));
  $("#sim-remove-btn").addEventListener("click", sim("remove-user", () => ({ userid: $("#sim-user").value })));
  $("#sim-approval-btn").addEventListener("click", sim("start-approval", () => ({ userid: $("#sim-user").value })));
  $("#sim-rename-dept-btn").addEventListener("click", sim("rename-department", () => ({ dept_id: Number($("#sim-dept").value), name: $("#sim-dept-name").value })));
  $("#sim-add-dept-btn").addEventListener("click", sim("add-department", () => ({ parent_id: Number($("#sim-dept").value), name: $("#sim-dept-name").value })));
  $("#sync-now").addEventListener("click", (ev) => act(ev.target, "/console/api/sync", {}));
  $("#events-filter").addEventListener("change", () => lastEvents && renderEvents(lastEvents));
  $("#notice-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      userids: list($("#notice-to").value), dept_ids: list($("#notice-depts").value).map(Number), to_all: $("#notice-all").checked,
      msgtype: $("#notice-type").value, title: $("#notice-title").value, content: $("#notice-content").value,
    };
    const j = await act($("#notice-send"), "/console/api/notices", body);
    if (j) {
      toast(`notice ${j.id}: ${j.status}${j.warnings && j.warnings.length ? " (" + j.warnings.map((w) => w.code).join(", ") + ")" : ""}`);
      $("#notice-content").value = "";
    }
  });
}

wire();
connect();
