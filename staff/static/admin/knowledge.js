// Knowledge upkeep page: candidate FAQ entries, changes under review, entries and their versions.
// The server decides who may do what; buttons only hide what the role cannot do anyway.
"use strict";

const {el, call, time, say} = Admin;
const API = "/staff/api/admin/knowledge";
const KIND_NAMES = {faq: "常见问题", item: "办事指南事项"};
const FAQ_LABELS = {question: "问题", alt_questions: "其他问法", answer: "答案", item_code: "所属事项编码", tags: "标签"};
const ITEM_LABELS = {summary: "事项简介", acceptance_conditions: "受理条件", materials: "申请材料", fees: "收费",
                     process: "办理流程", promised_time_limit: "承诺时限", online: "网上办理", hotline: "咨询电话"};
let me = null;
let states = {};

const canEdit = () => me.role === "publisher";
const canReview = () => me.role === "publisher" || me.role === "admin";

function message(text, isError) { say("message", text, isError); }

// Errors show in the status line; a success message is left for the next action to replace.
async function attempt(work) {
  try { return await work(); } catch (e) { message(e.message, true); return null; }
}

// --- tabs --------------------------------------------------------------------------------------
function showTab(name) {
  message("");
  for (const b of document.querySelectorAll("nav.tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const t of ["candidates", "changes", "entries"]) document.getElementById(`tab-${t}`).classList.toggle("hidden", t !== name);
  document.getElementById("editor").classList.add("hidden");
  if (name === "candidates") loadCandidates();
  if (name === "changes") loadChanges();
  if (name === "entries") loadEntries();
}

// --- showing fields ----------------------------------------------------------------------------
function material(m) {
  const counts = [m.originals ? `原件${m.originals}份` : "", m.copies ? `复印件${m.copies}份` : "", m.note || ""].filter(Boolean);
  return `${m.name}${m.required ? "" : "（如适用）"}${counts.length ? "（" + counts.join("，") + "）" : ""}`;
}

function shown(name, value) {
  if (value === undefined || value === null) return "";
  if (name === "materials") return value.map((m, i) => `${i + 1}. ${material(m)}`).join("\n");
  if (name === "fees") return `${value.charged ? "收费" : "不收费"}：${value.standard}${value.basis ? "（依据：" + value.basis + "）" : ""}`;
  if (Array.isArray(value)) return value.map((v) => `· ${v}`).join("\n");
  return String(value);
}

function fieldsView(kind, fields, compareWith) {
  if (fields && fields.retired) return el("p", {}, el("span", {class: "badge bad"}, "已停用"), " 这条常见问题不再用于回答。");
  const labels = kind === "faq" ? FAQ_LABELS : ITEM_LABELS;
  const rows = [];
  for (const [name, label] of Object.entries(labels)) {
    if (!fields || !(name in fields)) continue;
    const changed = compareWith && JSON.stringify(compareWith[name]) !== JSON.stringify(fields[name]);
    rows.push(el("div", {class: "field"},
      el("span", {}, label, changed ? " " : "", changed ? el("span", {class: "badge warn"}, "已修改") : ""),
      el("pre", {}, shown(name, fields[name]) || "（空）"),
      changed && compareWith[name] !== undefined ? el("details", {}, el("summary", {}, "修改前"), el("pre", {class: "muted"}, shown(name, compareWith[name]))) : ""));
  }
  return el("div", {}, rows);
}

// --- candidates --------------------------------------------------------------------------------
async function loadCandidates() {
  const days = document.getElementById("days").value;
  const minSize = document.getElementById("min-size").value || "2";
  const body = document.getElementById("candidates");
  body.replaceChildren(el("tr", {}, el("td", {colspan: 6}, "正在归类，请稍候……")));
  const data = await attempt(() => call("GET", `${API}/candidates?days=${encodeURIComponent(days)}&min_size=${encodeURIComponent(minSize)}`));
  if (!data) { body.replaceChildren(); return; }
  const onlyNew = document.getElementById("uncovered").checked;
  const rows = data.candidates.filter((c) => !onlyNew || !(c.nearest && c.nearest.covered));
  document.getElementById("candidates-summary").textContent =
    `最近${data.days}天：未能回答的问题${data.unanswered}条，办事大厅咨询${data.consultations}条` +
    (data.hall_available ? "" : "（办事大厅暂时无法访问，未包含咨询）") + `；归为${data.candidates.length}组候选，显示${rows.length}组。`;
  body.replaceChildren(...rows.map(candidateRow));
  if (!rows.length) body.replaceChildren(el("tr", {}, el("td", {colspan: 6}, "暂无候选问题。")));
}

function candidateRow(c) {
  const near = c.nearest;
  const nearCell = near ? el("td", {},
    `${near.kind === "faq" ? "常见问题" : "事项"}：${near.title}`, near.item_name ? `（${near.item_name}）` : "", " ",
    el("span", {class: near.covered ? "badge ok" : "badge warn"}, near.covered ? "已覆盖" : "未覆盖"),
    el("div", {class: "muted"}, `相似度 ${near.score}`)) : el("td", {}, "—");
  const actions = el("td", {});
  if (canEdit()) {
    actions.append(el("button", {type: "button", onclick: () => draftFromCandidate(c)}, "起草常见问题"));
    if (near && near.kind === "faq") {
      actions.append(" ", el("button", {type: "button", class: "secondary", onclick: () => addPhrasings(c)}, "补充到该条目"));
    }
  }
  return el("tr", {},
    el("td", {}, c.representative, el("div", {class: "muted"}, `最近：${time(c.last_at)}`)),
    el("td", {}, String(c.size)),
    el("td", {}, [c.unanswered ? `未答${c.unanswered}` : "", c.consultations ? `咨询${c.consultations}` : ""].filter(Boolean).join("，"),
      el("div", {class: "muted"}, c.channels.join("、"))),
    el("td", {}, el("pre", {}, c.examples.map((e) => `· ${e}`).join("\n"))),
    nearCell, actions);
}

function draftFromCandidate(c) {
  const question = /[？?]$/.test(c.representative) ? c.representative : c.representative + "？";
  openEditor({kind: "faq", target: "", candidate: c.representative,
              fields: {question, alt_questions: c.examples.filter((e) => e !== c.representative), answer: "",
                       item_code: (c.nearest && c.nearest.covered && c.nearest.code) || "", tags: []}});
}

async function addPhrasings(c) {
  const entry = await attempt(() => call("GET", `${API}/entries/faq/${encodeURIComponent(c.nearest.key)}`));
  if (!entry) return;
  if (entry.open_change) { message(`该条目已有未完成的修改（编号${entry.open_change}），请在“修改与审核”中继续。`, true); return; }
  const fields = {...entry.effective};
  const known = new Set([fields.question, ...(fields.alt_questions || [])]);
  fields.alt_questions = [...(fields.alt_questions || []), ...c.examples.filter((e) => !known.has(e))];
  openEditor({kind: "faq", target: c.nearest.key, candidate: c.representative, fields});
}

// --- the editor --------------------------------------------------------------------------------
function lines(text) { return text.split("\n").map((s) => s.trim()).filter(Boolean); }

function editorInputs(kind, f) {
  if (kind === "faq") {
    return [
      el("label", {class: "field"}, el("span", {}, "问题"), el("input", {name: "question", value: f.question || "", required: true, style: "width:100%"})),
      el("label", {class: "field"}, el("span", {}, "其他问法（每行一条）"), textarea("alt_questions", (f.alt_questions || []).join("\n"))),
      el("label", {class: "field"}, el("span", {}, "答案"), textarea("answer", f.answer || "", 6)),
      el("label", {class: "field"}, el("span", {}, "所属事项编码（可不填）"), el("input", {name: "item_code", value: f.item_code || "", placeholder: "如 440300-001-QR-0001"})),
      el("label", {class: "field"}, el("span", {}, "标签（用顿号或逗号分隔）"), el("input", {name: "tags", value: (f.tags || []).join("、")})),
      el("label", {}, el("input", {type: "checkbox", name: "retired", checked: Boolean(f.retired)}), " 停用这条常见问题（不再用于回答）"),
    ];
  }
  const fees = f.fees || {charged: false, standard: "", basis: ""};
  return [
    el("label", {class: "field"}, el("span", {}, "事项简介"), textarea("summary", f.summary || "", 3)),
    el("label", {class: "field"}, el("span", {}, "受理条件（每行一条）"), textarea("acceptance_conditions", (f.acceptance_conditions || []).join("\n"), 4)),
    el("label", {class: "field"}, el("span", {}, "申请材料（每行一项：名称｜原件份数｜复印件份数｜必需或如适用｜备注）"),
      textarea("materials", (f.materials || []).map((m) => [m.name, m.originals, m.copies, m.required ? "必需" : "如适用", m.note || ""].join("｜")).join("\n"), 6)),
    el("div", {class: "field"}, el("span", {}, "收费"),
      el("label", {}, el("input", {type: "checkbox", name: "charged", checked: Boolean(fees.charged)}), " 收费 "),
      el("label", {}, "收费标准 ", el("input", {name: "standard", value: fees.standard || "", style: "width:40%"})), " ",
      el("label", {}, "收费依据 ", el("input", {name: "basis", value: fees.basis || "", style: "width:30%"}))),
    el("label", {class: "field"}, el("span", {}, "办理流程（每行一步）"), textarea("process", (f.process || []).join("\n"), 5)),
    el("label", {class: "field"}, el("span", {}, "承诺时限"), el("input", {name: "promised_time_limit", value: f.promised_time_limit || ""})),
    el("label", {class: "field"}, el("span", {}, "网上办理"), el("input", {name: "online", value: f.online || "", style: "width:100%"})),
    el("label", {class: "field"}, el("span", {}, "咨询电话"), el("input", {name: "hotline", value: f.hotline || ""})),
  ];
}

function textarea(name, value, rows) { const t = el("textarea", {name, rows: rows || 3}); t.value = value; return t; }

function readEditor(form, kind) {
  const v = (name) => form.elements[name].value;
  if (kind === "faq") {
    if (form.elements.retired.checked) return {retired: true};
    return {question: v("question").trim(), alt_questions: lines(v("alt_questions")), answer: v("answer").trim(),
            item_code: v("item_code").trim(), tags: v("tags").split(/[、,，]/).map((s) => s.trim()).filter(Boolean)};
  }
  const materials = lines(v("materials")).map((line) => {
    const [name, originals, copies, required, note] = line.split(/[|｜]/).map((s) => (s || "").trim());
    return {name, originals: Number(originals || 0), copies: Number(copies || 0), required: required !== "如适用", note: note || ""};
  });
  return {summary: v("summary").trim(), acceptance_conditions: lines(v("acceptance_conditions")), materials,
          fees: {charged: form.elements.charged.checked, standard: v("standard").trim(), basis: v("basis").trim()},
          process: lines(v("process")), promised_time_limit: v("promised_time_limit").trim(), online: v("online").trim(),
          hotline: v("hotline").trim()};
}

function openEditor(draft) {
  const form = document.getElementById("editor");
  const title = draft.id ? `修改草稿（编号${draft.id}）` : draft.target ? `修改${KIND_NAMES[draft.kind]} ${draft.target}` : "起草新的常见问题";
  const save = async (submit) => {
    const fields = readEditor(form, draft.kind);
    const change = await attempt(async () => {
      let c = draft.id
        ? await call("PUT", `${API}/changes/${draft.id}`, {fields})
        : await call("POST", `${API}/changes`, {kind: draft.kind, target: draft.target, fields, candidate: draft.candidate || ""});
      if (submit) c = await call("POST", `${API}/changes/${c.id}/submit`, {});
      return c;
    });
    if (change) {
      showTab("changes");
      loadChange(change.id);
      message(submit ? `已提交审核（编号${change.id}），请由管理员或其他信息发布员审核。` : `草稿已保存（编号${change.id}）。`);
    }
  };
  form.replaceChildren(
    el("h3", {}, title),
    draft.candidate ? el("p", {class: "muted"}, `来自候选问题：${draft.candidate}`) : "",
    ...editorInputs(draft.kind, draft.fields || {}),
    el("div", {class: "toolbar"},
      el("button", {type: "button", onclick: () => save(false)}, "保存草稿"),
      el("button", {type: "button", onclick: () => save(true)}, "保存并提交审核"),
      el("button", {type: "button", class: "secondary", onclick: () => form.classList.add("hidden")}, "取消")));
  form.classList.remove("hidden");
  form.scrollIntoView({behavior: "smooth"});
}

// --- changes -----------------------------------------------------------------------------------
async function loadChanges() {
  const state = document.getElementById("state").value;
  const data = await attempt(() => call("GET", `${API}/changes${state ? "?state=" + state : ""}`));
  if (!data) return;
  states = data.states;
  const select = document.getElementById("state");
  if (select.options.length === 1) {
    for (const [key, name] of Object.entries(states)) select.append(el("option", {value: key}, name));
  }
  const body = document.getElementById("changes");
  body.replaceChildren(...data.changes.map((c) => el("tr", {tabindex: 0, style: "cursor:pointer",
      onclick: () => loadChange(c.id), onkeydown: (e) => { if (e.key === "Enter") loadChange(c.id); }},
    el("td", {}, c.id), el("td", {}, KIND_NAMES[c.kind]), el("td", {}, c.target), el("td", {}, c.title),
    el("td", {}, el("span", {class: c.state === "published" ? "badge ok" : c.state === "discarded" ? "badge" : "badge warn"}, c.state_name)),
    el("td", {}, c.author_name || c.author), el("td", {}, c.reviewer_name || c.reviewer || ""), el("td", {}, time(c.updated_at)))));
  if (!data.changes.length) body.replaceChildren(el("tr", {}, el("td", {colspan: 8}, "暂无修改。")));
}

async function loadChange(id) {
  const c = await attempt(() => call("GET", `${API}/changes/${encodeURIComponent(id)}`));
  if (!c) return;
  const card = document.getElementById("change");
  const mine = c.author === me.username;
  const step = async (action, body, done) => {
    const result = await attempt(() => call("POST", `${API}/changes/${c.id}/${action}`, body || {}));
    if (result) { message(done); loadChanges(); loadChange(c.id); }
  };
  const before = c.published ? {...(c.base || {}), ...c.published.fields} : c.base;
  const note = el("textarea", {rows: 2, placeholder: "审核意见（退回时必填）", "aria-label": "审核意见"});
  const buttons = [];
  if (c.state === "draft" && mine) {
    // An item change holds only the fields it changes; the editor shows all of them.
    const fields = c.kind === "item" ? {...before, ...c.fields} : c.fields;
    buttons.push(el("button", {type: "button", onclick: () => openEditor({id: c.id, kind: c.kind, target: c.target, fields})}, "编辑"),
                 el("button", {type: "button", onclick: () => step("submit", {}, "已提交审核。")}, "提交审核"));
  }
  if ((c.state === "draft" || c.state === "submitted") && (mine || me.role === "admin")) {
    buttons.push(el("button", {type: "button", class: "secondary", onclick: () => step("discard", {}, "已撤销这条修改。")}, "撤销"));
  }
  if (c.state === "submitted" && canReview() && !mine) {
    buttons.push(note,
      el("button", {type: "button", onclick: () => step("approve", {note: note.value}, "已审核通过，可以发布。")}, "审核通过"),
      el("button", {type: "button", class: "secondary", onclick: () => step("return", {note: note.value}, "已退回起草人修改。")}, "退回修改"));
  }
  if (c.state === "submitted" && mine) buttons.push(el("span", {class: "muted"}, "等待管理员或其他信息发布员审核（不能审核自己起草的修改）。"));
  if (c.state === "approved" && canReview()) {
    buttons.push(el("button", {type: "button", onclick: () => step("publish", {}, "已发布，智能助手立即使用新内容回答。")}, "发布"));
  }
  card.replaceChildren(
    el("h3", {}, `编号${c.id}：${KIND_NAMES[c.kind]} ${c.target}`, " ", el("span", {class: "badge warn"}, c.state_name)),
    el("p", {class: "muted"}, `起草人：${c.author_name}；创建：${time(c.created_at)}` +
      (c.reviewer ? `；审核人：${c.reviewer_name}` : "") + (c.version ? `；发布为第${c.version}版` : "")),
    c.candidate ? el("p", {class: "muted"}, `来自候选问题：${c.candidate}`) : "",
    c.review_note ? el("p", {}, el("strong", {}, "审核意见："), c.review_note) : "",
    fieldsView(c.kind, c.fields, before),
    el("details", {}, el("summary", {}, "处理记录"),
      el("ul", {}, c.history.map((h) => el("li", {}, `${time(h.at)} ${h.name}：${ACTIONS[h.action] || h.action}${h.note ? "（" + h.note + "）" : ""}`)))),
    el("div", {class: "toolbar"}, buttons));
  card.classList.remove("hidden");
  card.scrollIntoView({behavior: "smooth"});
}

const ACTIONS = {create: "起草", edit: "修改", submit: "提交审核", approve: "审核通过", return: "退回", publish: "发布", discard: "撤销"};

// --- entries and versions ----------------------------------------------------------------------
async function loadEntries() {
  const kind = document.getElementById("entry-kind").value;
  const q = document.getElementById("entry-query").value.trim();
  const data = await attempt(() => call("GET", `${API}/entries?kind=${kind}&q=${encodeURIComponent(q)}`));
  if (!data) return;
  const body = document.getElementById("entries");
  body.replaceChildren(...data.entries.map((e) => el("tr", {tabindex: 0, style: "cursor:pointer",
      onclick: () => loadEntry(e.kind, e.target), onkeydown: (ev) => { if (ev.key === "Enter") loadEntry(e.kind, e.target); }},
    el("td", {}, e.target), el("td", {}, e.title, e.new ? " " : "", e.new ? el("span", {class: "badge ok"}, "新增") : "",
      e.retired ? el("span", {class: "badge bad"}, "已停用") : ""),
    el("td", {}, e.version ? `第${e.version}版` : "原始版本"))));
  if (!data.entries.length) body.replaceChildren(el("tr", {}, el("td", {colspan: 3}, "没有找到条目。")));
}

async function loadEntry(kind, target) {
  const e = await attempt(() => call("GET", `${API}/entries/${kind}/${encodeURIComponent(target)}`));
  if (!e) return;
  const card = document.getElementById("entry");
  const current = e.versions.length ? e.versions[e.versions.length - 1].version : 0;
  const rollback = async (version) => {
    const done = await attempt(() => call("POST", `${API}/entries/${kind}/${encodeURIComponent(target)}/rollback`, {version}));
    if (done) { message(`已回退：第${done.version}版使用${version ? "第" + version + "版" : "原始版本"}的内容。`); loadEntry(kind, target); loadEntries(); }
  };
  const versionRows = e.versions.slice().reverse().map((v) => el("tr", {},
    el("td", {}, `第${v.version}版`), el("td", {}, time(v.published_at)), el("td", {}, v.author_name || v.author),
    el("td", {}, v.reviewer_name || v.reviewer || "—"), el("td", {}, v.published_by_name || v.published_by),
    el("td", {}, v.rollback_of !== null ? `回退到${v.rollback_of ? "第" + v.rollback_of + "版" : "原始版本"}` : (v.fields && v.fields.retired ? "停用" : "修改")),
    el("td", {}, canReview() && v.version < current && v.fields !== null
      ? el("button", {type: "button", class: "secondary", onclick: () => rollback(v.version)}, "回退到此版") : "")));
  const edit = canEdit() && (e.open_change
    ? el("button", {type: "button", class: "secondary", onclick: () => { showTab("changes"); loadChange(e.open_change); }}, `查看未完成的修改（编号${e.open_change}）`)
    : el("button", {type: "button", onclick: () => openEditor({kind, target, fields: e.effective || {}})}, "修改此条目"));
  card.replaceChildren(
    el("h3", {}, `${KIND_NAMES[kind]} ${target}`, " ", el("span", {class: "badge"}, current ? `第${current}版` : "原始版本")),
    fieldsView(kind, e.effective, e.base),
    el("div", {class: "toolbar"}, edit || "",
      canReview() && current ? el("button", {type: "button", class: "secondary", onclick: () => rollback(0)}, "回退到原始版本") : ""),
    el("h3", {}, "版本记录"),
    e.versions.length ? el("table", {}, el("thead", {}, el("tr", {}, ["版本", "发布时间", "起草人", "审核人", "发布人", "说明", "操作"].map((h) => el("th", {}, h)))),
                            el("tbody", {}, versionRows))
                      : el("p", {class: "muted"}, "尚未在线修改过，使用事项目录和常见问题库的原始版本。"));
  card.classList.remove("hidden");
  card.scrollIntoView({behavior: "smooth"});
}

// --- start -------------------------------------------------------------------------------------
for (const b of document.querySelectorAll("nav.tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
document.getElementById("load-candidates").addEventListener("click", loadCandidates);
document.getElementById("uncovered").addEventListener("change", loadCandidates);
document.getElementById("load-changes").addEventListener("click", loadChanges);
document.getElementById("state").addEventListener("change", loadChanges);
document.getElementById("entry-search").addEventListener("submit", (e) => { e.preventDefault(); loadEntries(); });
Admin.start((who) => { me = who; showTab("candidates"); });
