"use strict";
// The window staff's console (standard 9.3.1.2): queues, conversations, replies, transfers.
// Plain DOM on top of the JSON API in assistant/staff_api.py; live updates from its websocket.

const API = "/staff/api";
const TITLE = document.title;
const PING_MS = 20000;              // a text frame keeps our presence (the server's window is 60 s)
const MAX_RETRY_MS = 30000;
const MAX_REPLY_CHARS = 1000;
const CHANNELS = {rest: "网页/接口", web: "网页聊天", wechat: "微信", sms: "短信", telegram: "Telegram", voice: "电话"};
const SPEAKERS = {citizen: "市民", bot: "智能助手", staff: "工作人员", system: "系统"};
const RECORD_KINDS = {complaint: "投诉", consultation: "咨询", appointment: "预约"};
const SUGGESTION_KINDS = {item: "办事指南", faq: "常见问题"};

const state = {
  me: null,                 // the /me answer: username, name, role, departments, csrf, can_act
  selected: null,           // conversation id shown in the detail view
  info: null,               // that conversation's last known row
  gone: false,              // it has ended or left our departments since we opened it
  shown: [],                // transcript entries already rendered (only new ones are appended)
  known: null,              // queued conversation ids seen so far (null before the first load)
  fresh: new Set(),         // queued conversations not opened yet since they arrived
  unread: new Set(),        // held conversations with citizen messages not looked at
  unseen: 0,                // new queue items since the staff last touched the page
  departments: new Set(),
  staff: [],
  ws: null, retry: 0, retryTimer: null, pingTimer: null, tickTimer: null,
  pending: new Map(),       // coalesced refreshes
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "data") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = state.me ? state.me.csrf : "";
  }
  let resp;
  try {
    resp = await fetch(API + path, {method, headers, credentials: "same-origin",
                                    body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    throw new ApiError(0, "网络连接失败，请检查网络后重试。");
  }
  let data = null;
  try { data = await resp.json(); } catch (e) { /* an empty or non-JSON body: the status says enough */ }
  if (resp.status === 401 && state.me) {
    expired();
    throw new ApiError(401, "登录已过期，请重新登录。");
  }
  if (!resp.ok) throw new ApiError(resp.status, (data && data.message) || "操作失败，请稍后再试。");
  return data;
}

// --- time and labels --------------------------------------------------------------------

// Beijing time whatever the computer's own zone, as on every other document of the hall.
const DAY = new Intl.DateTimeFormat("zh-CN", {timeZone: "Asia/Shanghai", month: "numeric", day: "numeric"});
const TIME = new Intl.DateTimeFormat("zh-CN", {timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit",
                                               second: "2-digit", hourCycle: "h23"});

function clock(seconds) {
  const d = new Date(seconds * 1000);
  const day = DAY.format(d);
  return day === DAY.format(new Date()) ? TIME.format(d) : `${day} ${TIME.format(d)}`;
}

function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds}秒`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}分${seconds % 60}秒`;
  return `${Math.floor(seconds / 3600)}小时${Math.floor(seconds % 3600 / 60)}分`;
}

function channelName(channel) { return CHANNELS[channel] || channel || "未知渠道"; }

function staffName(username) {
  const found = state.staff.find((s) => s.username === username);
  return found ? found.name : username;
}

function canAct() { return Boolean(state.me && state.me.can_act); }

function announce(text) {
  const box = $("announce");
  box.textContent = "";
  setTimeout(() => { box.textContent = text; }, 50);    // a change screen readers notice
}

// --- notification: highlight, title badge, beep ------------------------------------------

let audio = null;

function unlockAudio() {
  // Browsers start audio only after a gesture: the login click or any later click unlocks it.
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch (e) { audio = null; }
}

function beep() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const t = audio.currentTime;
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(1175, t + 0.12);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.32);
  } catch (e) { /* no audio device: the highlight and the title still tell */ }
}

function updateTitle() {
  document.title = state.unseen ? `（${state.unseen}）新排队 · ${TITLE}` : TITLE;
}

function seen() {
  if (state.unseen && document.hasFocus()) {
    state.unseen = 0;
    updateTitle();
  }
}

function notifyQueued(rows) {
  for (const row of rows) state.fresh.add(row.conversation);
  state.unseen += rows.length;
  updateTitle();
  beep();
  const first = rows[0];
  announce(`新的排队：${first.department}，${channelName(first.channel)}，${first.question || "未说明问题"}`);
}

// --- views ------------------------------------------------------------------------------

function showLogin(message) {
  $("console-view").hidden = true;
  $("who").hidden = true;
  $("login-view").hidden = false;
  $("login-message").textContent = message || "";
  $("password").value = "";
  document.title = TITLE;
  ($("username").value ? $("password") : $("username")).focus();
}

function expired() {
  stopLive();
  state.me = null;
  showLogin("登录已过期，请重新登录。");
}

function startConsole(me) {
  state.me = me;
  state.selected = null;
  state.known = null;
  state.fresh.clear();
  state.unread.clear();
  state.unseen = 0;
  $("login-view").hidden = true;
  $("console-view").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `${me.name}（${me.username}）`;
  $("who-role").textContent = me.role_name;
  $("readonly-badge").hidden = me.can_act;
  $("mine-title").textContent = me.role === "handler" ? "我的会话" : "全部会话";
  document.body.classList.toggle("readonly", !me.can_act);
  showDetail(null);
  refreshAll();
  connect();
  clearInterval(state.tickTimer);
  state.tickTimer = setInterval(tick, 1000);
}

function tick() {
  const now = Date.now() / 1000;
  for (const node of document.querySelectorAll("[data-since]")) {
    node.textContent = `已等待${duration(now - Number(node.dataset.since))}`;
  }
}

function stopLive() {
  clearTimeout(state.retryTimer);
  clearInterval(state.pingTimer);
  clearInterval(state.tickTimer);
  const ws = state.ws;
  state.ws = null;
  if (ws) ws.close();
  setConn("closed", "未连接");
}

// Only the answer to the latest request of a kind is drawn: an older one arriving late would
// show a stale list (and make a queued citizen look new twice).
const issued = {};
function ticket(kind) {
  const n = (issued[kind] = (issued[kind] || 0) + 1);
  return () => issued[kind] === n;
}

// Several events in a burst cause one refresh of each list.
function soon(name, fn) {
  if (state.pending.has(name)) return;
  state.pending.set(name, setTimeout(() => { state.pending.delete(name); fn(); }, 150));
}

function refreshAll() {
  loadStaff().then(() => { loadQueues(); loadMine(); loadCalls(); if (state.selected) loadDetail(); });
}

async function guarded(fn, where) {
  try { return await fn(); } catch (e) {
    if (e.status !== 401 && where) where.textContent = e.message;
    return null;
  }
}

async function loadStaff() {
  const data = await guarded(() => api("GET", "/staff"));
  if (!data) return;
  state.staff = data.staff;
  for (const s of data.staff) for (const d of s.departments) if (d !== "*") state.departments.add(d);
}

async function loadQueues() {
  const current = ticket("queues");
  const data = await guarded(() => api("GET", "/queue"), $("queues"));
  if (!data || !current()) return;
  const rows = Object.values(data.queues).flat();
  const ids = new Set(rows.map((r) => r.conversation));
  if (state.known !== null) {
    const arrived = rows.filter((r) => !state.known.has(r.conversation));
    if (arrived.length) notifyQueued(arrived);
  }
  state.known = ids;
  for (const id of [...state.fresh]) if (!ids.has(id)) state.fresh.delete(id);
  for (const d of Object.keys(data.queues)) state.departments.add(d);
  renderQueues(data);
}

function renderQueues(data) {
  const box = $("queues");
  box.replaceChildren();
  const now = Date.now() / 1000;
  const departments = Object.keys(data.queues);
  if (!departments.length) box.append(el("p", {class: "empty"}, "您的部门暂无排队。"));
  for (const dept of departments) {
    const rows = data.queues[dept], online = data.online[dept] || [];
    const list = el("ul", {class: "list queue", "aria-label": `${dept}排队列表`});
    if (!rows.length) list.append(el("li", {class: "empty"}, "暂无排队"));
    for (const r of rows) {
      const item = el("li", {class: "item" + (state.fresh.has(r.conversation) ? " fresh" : "") +
                                     (r.conversation === state.selected ? " selected" : ""),
                             data: {conv: r.conversation}},
        el("button", {type: "button", class: "open", onclick: () => openConversation(r.conversation)},
          el("span", {class: "line"},
            el("span", {class: "chip"}, channelName(r.channel)),
            el("span", {class: "wait", data: {since: String(now - r.waiting_s)}}, `已等待${duration(r.waiting_s)}`),
            state.fresh.has(r.conversation) ? el("span", {class: "chip new"}, "新") : null),
          el("span", {class: "question"}, r.question || "（未说明问题）"),
          el("span", {class: "meta"}, [r.intent && `意图：${r.intent}`, r.service_code && `事项：${r.service_code}`]
            .filter(Boolean).join("　") || "意图未识别"),
          r.note ? el("span", {class: "note"}, `转接说明：${r.note}`) : null),
        canAct() ? el("button", {type: "button", class: "primary claim", "aria-label": `接入：${r.question || "未说明问题"}`,
                                 onclick: () => claim(r.conversation)}, "接入") : null);
      list.append(item);
    }
    box.append(el("section", {class: "dept"},
      el("h3", {}, dept, el("span", {class: "count"}, `${rows.length}人排队 · ${online.length}人在线`)), list));
  }
}

async function loadMine() {
  const current = ticket("mine");
  const data = await guarded(() => api("GET", "/conversations"), $("mine"));
  if (!data || !current()) return;
  const list = $("mine");
  list.replaceChildren();
  const rows = data.conversations;
  if (!rows.length) list.append(el("li", {class: "empty"}, state.me.role === "handler" ? "您还没有接入会话" : "暂无会话"));
  for (const r of rows) {
    const unread = state.unread.has(r.conversation);
    list.append(el("li", {class: "item" + (r.conversation === state.selected ? " selected" : "") + (unread ? " unread" : ""),
                          data: {conv: r.conversation}},
      el("button", {type: "button", class: "open", onclick: () => openConversation(r.conversation)},
        el("span", {class: "line"},
          el("span", {class: "chip"}, channelName(r.channel)),
          el("span", {class: "chip state-" + r.state}, r.state === "active" ? `处理中 · ${staffName(r.staff)}` : "排队中"),
          unread ? el("span", {class: "chip new"}, "新消息") : null),
        el("span", {class: "question"}, r.question || "（未说明问题）"),
        el("span", {class: "meta"}, r.department))));
  }
}

// Hotline callers put through to the staff phones (key 0): the call rings at the desk phone,
// the caller's transcript with the voice bot pops up here.
async function loadCalls() {
  const current = ticket("calls");
  const data = await guarded(() => api("GET", "/phone-calls"), $("calls"));
  if (!data || !current()) return;
  const list = $("calls");
  list.replaceChildren();
  if (!data.calls.length) list.append(el("li", {class: "empty"}, "近两小时没有热线转接"));
  for (const c of data.calls) {
    const at = new Date(Number(c.at) * 1000).toLocaleTimeString("zh-CN", {timeZone: "Asia/Shanghai", hour12: false});
    list.append(el("li", {class: "item" + (c.conversation === state.selected ? " selected" : ""), data: {conv: c.conversation}},
      el("button", {type: "button", class: "open", onclick: () => openConversation(c.conversation)},
        el("span", {class: "line"}, el("span", {class: "chip"}, "热线"), el("span", {class: "wait"}, `${at}转接`)),
        el("span", {class: "question"}, `来电：${c.number || "未显示号码"}`))));
  }
}

// --- the selected conversation ----------------------------------------------------------

function showDetail(conv) {
  $("placeholder").hidden = Boolean(conv);
  $("conversation").hidden = !conv;
  $("transfer-form").hidden = true;
  $("transfer-open").setAttribute("aria-expanded", "false");
  $("conv-status").textContent = "";
  $("reply-status").textContent = "";
  if (!conv) return;
  $("transcript").replaceChildren();
  $("suggestions").replaceChildren();
  $("records").replaceChildren();
  state.shown = [];
}

function markSelected() {
  for (const node of document.querySelectorAll(".item[data-conv]")) {
    node.classList.toggle("selected", node.dataset.conv === state.selected);
  }
}

function openConversation(conv) {
  state.selected = conv;
  state.info = null;
  state.gone = false;
  state.fresh.delete(conv);
  state.unread.delete(conv);
  for (const node of document.querySelectorAll(`.item[data-conv="${CSS.escape(conv)}"]`)) node.classList.remove("fresh", "unread");
  markSelected();
  showDetail(conv);
  $("detail").focus();
  loadDetail();
  loadSuggestions();
}

async function loadDetail() {
  const conv = state.selected, current = ticket("detail");
  if (!conv) return;
  let data;
  try {
    data = await api("GET", `/conversations/${encodeURIComponent(conv)}`);
  } catch (e) {
    if (!current() || conv !== state.selected || e.status === 401) return;
    if (e.status === 404) {
      // It ended, was cancelled or moved to a queue we do not serve: keep what was said on screen.
      if (!state.gone) {
        conversationGone(state.info && state.info.state === "queued" ? "市民已取消排队，或会话已转到其他部门。"
                                                                      : "该会话已结束或已转出。");
      }
    } else {
      $("conv-status").textContent = e.message;
    }
    return;
  }
  if (!current() || conv !== state.selected) return;
  state.info = data;
  renderFacts(data);
  renderTranscript(data.transcript);
  renderRecords(data.records);
  renderActions(data);
}

function renderFacts(d) {
  $("detail-title").textContent = d.question ? `会话：${d.question}` : "会话详情";
  const facts = [
    ["部门", d.department],
    ["状态", d.state === "active" ? `处理中（${staffName(d.staff)}）` : d.state === "queued" ? "排队中" : d.state === "phone" ? "热线转接（电话中）" : d.state],
    ["渠道", channelName(d.channel)],
    ["意图", d.intent || "未识别"],
    ["事项编码", d.service_code || "未涉及具体事项"],
  ];
  if (d.note) facts.push(["转接说明", d.note]);
  $("conv-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderActions(d) {
  const mine = canAct() && d.state === "active" && d.staff === state.me.username;
  $("claim").hidden = !(canAct() && d.state === "queued");
  $("transfer-open").hidden = !mine;
  $("end").hidden = !mine;
  $("reply-form").hidden = !mine;
  if (!mine) $("transfer-form").hidden = true;
  $("suggestions-hint").textContent = mine ? "来自知识库，点击可复制到回复框，修改后再发送。" : "来自知识库，供参考。";
}

function conversationGone(message) {
  $("conv-status").textContent = message;
  for (const id of ["claim", "transfer-open", "end", "reply-form", "transfer-form"]) $(id).hidden = true;
  state.gone = true;
}

function messageItem(m) {
  const who = m.who === "staff" && m.staff ? `工作人员（${staffName(m.staff)}）` : SPEAKERS[m.who] || m.who;
  const button = m.who === "citizen" && m.text.startsWith("/");
  return el("li", {class: `msg who-${m.who}`},
    el("div", {class: "msg-head"},
      el("span", {class: "speaker"}, who),
      el("time", {datetime: new Date(m.at * 1000).toISOString()}, clock(m.at)),
      el("span", {class: "channel"}, channelName(m.channel))),
    el("div", {class: "msg-text"}, button ? `〔点击按钮〕${m.text}` : m.text));
}

function renderTranscript(messages) {
  const list = $("transcript");
  const same = state.shown.length <= messages.length &&
    state.shown.every((m, i) => m.at === messages[i].at && m.text === messages[i].text);
  if (!same || list.querySelector(".empty")) {     // trimmed at the front, or was empty: draw it again
    list.replaceChildren();
    state.shown = [];
  }
  const added = messages.slice(state.shown.length);
  for (const m of added) list.append(messageItem(m));
  state.shown = messages.slice();
  if (added.length) list.scrollTop = list.scrollHeight;
  if (!messages.length) list.append(el("li", {class: "empty"}, "暂无对话记录"));
}

function renderRecords(records) {
  const list = $("records");
  list.replaceChildren();
  if (!records.length) list.append(el("li", {class: "empty"}, "该市民在本会话中没有提交过办件。"));
  for (const r of records) {
    if (r.unavailable) {
      list.append(el("li", {}, el("strong", {}, r.number), "（详情暂时无法查询）"));
      continue;
    }
    const type = r.complaint_type || r.consultation_type || "";
    const due = r.answer_due || r.due_date || "";
    list.append(el("li", {},
      el("strong", {}, `${RECORD_KINDS[r.kind] || "办件"} ${r.number}`),
      el("span", {class: "meta"}, [r.status_text || r.status, r.department, type].filter(Boolean).join(" · ")),
      r.subject ? el("span", {}, r.subject) : null,
      r.date ? el("span", {}, `预约时间：${r.date} ${r.start || ""}`) : null,
      due ? el("span", {class: "meta"}, `答复期限：${due}`) : null));
  }
}

async function loadSuggestions() {
  const conv = state.selected;
  const list = $("suggestions");
  list.replaceChildren(el("li", {class: "empty"}, "正在查找参考答案…"));
  let data;
  try {
    data = await api("GET", `/conversations/${encodeURIComponent(conv)}/suggestions`);
  } catch (e) {
    if (conv === state.selected) list.replaceChildren(el("li", {class: "empty"}, e.message));
    return;
  }
  if (conv !== state.selected) return;
  list.replaceChildren();
  if (!data.suggestions.length) list.append(el("li", {class: "empty"}, "知识库中没有找到合适的参考答案。"));
  for (const s of data.suggestions) {
    const label = `${SUGGESTION_KINDS[s.kind] || "参考"}${s.code ? " · " + s.code : ""}`;
    const body = [el("span", {class: "meta"}, label), el("span", {class: "suggestion-text"}, s.text)];
    list.append(el("li", {}, canAct()
      ? el("button", {type: "button", class: "suggestion", title: "复制到回复框",
                      onclick: () => useSuggestion(s.text)}, ...body)
      : el("div", {class: "suggestion"}, ...body)));
  }
}

function useSuggestion(text) {
  const box = $("reply-text");
  if ($("reply-form").hidden) {
    $("conv-status").textContent = "请先接入该会话再回复。";
    return;
  }
  box.value = text;
  box.focus();
  $("reply-status").textContent = text.length > MAX_REPLY_CHARS
    ? `参考答案超过${MAX_REPLY_CHARS}字，请精简后再发送。` : "已复制到回复框，可修改后发送。";
}

// --- actions ----------------------------------------------------------------------------

async function claim(conv) {
  try {
    await api("POST", `/conversations/${encodeURIComponent(conv)}/claim`);
  } catch (e) {
    if (e.status === 401) return;
    announce(e.message);
    $(state.selected === conv ? "conv-status" : "queue-status").textContent = e.message;
    loadQueues();
    return;
  }
  announce("已接入会话");
  $("queue-status").textContent = "";
  openConversation(conv);
  $("conv-status").textContent = "已接入，市民已收到您的问候。";
  loadQueues();
  loadMine();
  setTimeout(() => $("reply-text").focus(), 0);
}

async function sendReply(event) {
  event.preventDefault();
  const box = $("reply-text"), status = $("reply-status"), conv = state.selected;
  const text = box.value.trim();
  if (!text) { status.textContent = "请输入回复内容。"; return; }
  if (text.length > MAX_REPLY_CHARS) { status.textContent = `回复内容不能超过${MAX_REPLY_CHARS}字。`; return; }
  box.disabled = true;
  try {
    const data = await api("POST", `/conversations/${encodeURIComponent(conv)}/reply`, {text});
    box.value = "";
    status.textContent = data.delivered === "pushed" ? "已发送，市民已收到。" : "已发送，市民下次发消息时会收到。";
    loadDetail();
  } catch (e) {
    status.textContent = e.message;
  } finally {
    box.disabled = false;
    box.focus();
  }
}

function replyKeys(event) {
  // Enter sends; Shift+Enter is a new line; Enter that picks a Chinese IME candidate is not a send.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
}

function openTransfer() {
  const form = $("transfer-form"), select = $("transfer-target"), info = state.info;
  if (!info) return;
  const colleagues = state.staff.filter((s) => s.username !== state.me.username &&
    (s.departments.includes("*") || s.departments.includes(info.department)));
  const departments = [...state.departments].sort((a, b) => a.localeCompare(b, "zh-CN"));
  select.replaceChildren(
    el("optgroup", {label: "转给部门（进入该部门排队）"},
      departments.map((d) => el("option", {value: `department:${d}`}, d === info.department ? `${d}（本部门重新排队）` : d))),
    el("optgroup", {label: "转给同事（直接由其接手）"},
      colleagues.length ? colleagues.map((s) => el("option", {value: `staff:${s.username}`}, `${s.name}（${s.username}）`))
                        : el("option", {disabled: true}, "没有可转给的同事")));
  const firstColleague = colleagues[0];
  select.value = firstColleague ? `staff:${firstColleague.username}` : `department:${info.department}`;
  form.hidden = false;
  $("transfer-open").setAttribute("aria-expanded", "true");
  select.focus();
}

function closeTransfer() {
  $("transfer-form").hidden = true;
  $("transfer-open").setAttribute("aria-expanded", "false");
  $("transfer-open").focus();
}

async function sendTransfer(event) {
  event.preventDefault();
  const value = $("transfer-target").value, note = $("transfer-note").value.trim(), conv = state.selected;
  if (!value) { $("conv-status").textContent = "请选择要转给的部门或同事。"; return; }
  const [kind, target] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
  try {
    await api("POST", `/conversations/${encodeURIComponent(conv)}/transfer`,
              kind === "staff" ? {staff: target, note} : {department: target, note});
  } catch (e) {
    $("conv-status").textContent = e.message;
    return;
  }
  $("transfer-note").value = "";
  $("transfer-form").hidden = true;
  const to = kind === "staff" ? staffName(target) : target;
  $("conv-status").textContent = `已转给${to}。`;
  announce(`会话已转给${to}`);
  loadQueues();
  loadMine();
  loadDetail();
}

async function endConversation() {
  const conv = state.selected;
  try {
    await api("POST", `/conversations/${encodeURIComponent(conv)}/end`);
  } catch (e) {
    $("conv-status").textContent = e.message;
    return;
  }
  conversationGone("会话已结束，市民将收到服务评价邀请。");
  announce("会话已结束");
  loadQueues();
  loadMine();
}

async function login(event) {
  event.preventDefault();
  unlockAudio();
  const username = $("username").value.trim(), password = $("password").value, message = $("login-message");
  if (!username || !password) { message.textContent = "请输入用户名和密码。"; return; }
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  message.textContent = "正在登录…";
  try {
    startConsole(await api("POST", "/login", {username, password}));
  } catch (e) {
    message.textContent = e.message;
    $("password").focus();
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  try {
    await api("POST", "/logout");
  } catch (e) {
    if (e.status !== 401) $("queue-status").textContent = e.message;
    return;
  }
  stopLive();
  state.me = null;
  showLogin("您已退出登录。");
}

// --- live events ------------------------------------------------------------------------

function setConn(which, text) {
  const node = $("conn");
  node.dataset.state = which;
  node.textContent = text;
}

function connect() {
  clearTimeout(state.retryTimer);
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${API}/ws`);
  state.ws = ws;
  setConn("connecting", "正在连接…");
  ws.onopen = () => {
    if (state.ws !== ws) return;
    state.retry = 0;
    setConn("open", "实时连接正常");
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send("ping"); }, PING_MS);
    refreshAll();              // whatever happened while we were away
  };
  ws.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    onEvent(event);
  };
  ws.onclose = () => {
    clearInterval(state.pingTimer);
    if (state.ws !== ws || !state.me) return;
    reconnectLater();
  };
}

function reconnectLater() {
  // Exponential backoff with jitter, so consoles do not all come back at the same instant.
  const delay = Math.min(MAX_RETRY_MS, 1000 * 2 ** state.retry) * (0.75 + Math.random() / 2);
  state.retry += 1;
  setConn("retry", `连接中断，${Math.ceil(delay / 1000)}秒后重连`);
  state.retryTimer = setTimeout(async () => {
    try { await api("GET", "/me"); } catch (e) { if (e.status === 401 || !state.me) return; }
    if (state.me) connect();
  }, delay);
}

function onEvent(event) {
  const conv = event.conversation;
  if (!state.me || typeof conv !== "string") return;
  if (event.kind === "message") {
    if (conv === state.selected) soon("detail", loadDetail);
    else if (event.who === "citizen" && document.querySelector(`#mine .item[data-conv="${CSS.escape(conv)}"]`)) {
      state.unread.add(conv);
      soon("mine", loadMine);
    }
    return;
  }
  if (event.kind === "phone") {                 // screen-pop: open the caller's transcript
    soon("calls", loadCalls);
    beep();
    if (!state.selected) {                     // never pulls a handler away from a chat in progress
      announce("热线来电转接，已打开来电者的对话记录");
      openConversation(conv);
    } else {
      announce("热线来电转接，见左侧“热线转接来电”");
    }
    return;
  }
  soon("queues", loadQueues);
  soon("mine", loadMine);
  if (conv === state.selected) soon("detail", loadDetail);
  if (event.kind === "transferred" && event.staff === state.me.username) {
    announce("同事转给您一个会话");
    state.unread.add(conv);
  }
}

// --- start ------------------------------------------------------------------------------

async function boot() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("refresh").addEventListener("click", refreshAll);
  $("reply-form").addEventListener("submit", sendReply);
  $("reply-text").addEventListener("keydown", replyKeys);
  $("claim").addEventListener("click", () => state.selected && claim(state.selected));
  $("transfer-open").addEventListener("click", openTransfer);
  $("transfer-cancel").addEventListener("click", closeTransfer);
  $("transfer-form").addEventListener("submit", sendTransfer);
  $("end").addEventListener("click", endConversation);
  for (const kind of ["pointerdown", "keydown"]) document.addEventListener(kind, () => { unlockAudio(); seen(); });
  window.addEventListener("focus", seen);
  try {
    startConsole(await api("GET", "/me"));
  } catch (e) {
    showLogin(e.status === 0 ? e.message : "");
  }
}

boot();
