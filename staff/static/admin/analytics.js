// Analytics page: logs in through the staff API when needed, then shows the report of the
// chosen period. Every value is put in with textContent: unanswered questions are citizens' words.
"use strict";

const API = "/staff/api";
const $ = (id) => document.getElementById(id);
let me = null;

const CARDS = [
  ["conversations", "会话数"], ["unique_users", "用户数"], ["new_users", "新用户数"], ["messages", "消息总数"],
  ["avg_duration_s", "平均会话时长", (v) => duration(v)], ["avg_turns", "平均每会话轮次"],
  ["containment_rate", "智能助手独立解决率", percent], ["handoffs", "转人工次数"],
  ["handoff_rate", "转人工会话比例", percent], ["avg_wait_s", "平均等待时间", (v) => duration(v)],
  ["unanswered", "未能解答次数"], ["avg_rating", "平均满意度评分", (v, s) => s.ratings ? `${v}分` : "暂无评价"],
];
const TABLES = [
  ["hot_questions", "大家都在问", [["rank", "排名"], ["question", "问题"], ["count", "次数", true]]],
  ["service_ranking", "服务排行", [["rank", "排名"], ["service_name", "事项"], ["questions", "解答", true],
    ["filings", "申请", true], ["total", "合计", true]]],
  ["services", "热门事项（会话）", [["service_name", "事项"], ["department", "实施主体"], ["conversations", "会话数", true]]],
  ["unanswered", "未能解答的问题（已脱敏）", [["question", "问题"], ["count", "次数", true], ["reasons", "原因"]]],
];

function percent(v) { return `${(v * 100).toFixed(1)}%`; }
function duration(s) { return s >= 60 ? `${Math.floor(s / 60)}分${Math.round(s % 60)}秒` : `${Math.round(s)}秒`; }
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function query() {
  return new URLSearchParams({ period: $("period").value, date: $("date").value }).toString();
}

async function call(path, options = {}) {
  const resp = await fetch(API + path, { credentials: "same-origin", ...options });
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  return { status: resp.status, body };
}

function show(section) {
  for (const id of ["login", "report", "denied"]) $(id).hidden = id !== section;
  $("who").hidden = !me;
  if (me) $("who-name").textContent = me.name === me.role_name ? me.name : `${me.name}（${me.role_name}）`;
}

async function start() {
  const today = new Date();
  $("date").value = new Date(today.getTime() - today.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  const got = await call("/me");
  if (got.status !== 200) { show("login"); return; }
  me = got.body;
  await load();
}

async function load() {
  $("status").textContent = "正在统计……";
  const got = await call("/admin/analytics?" + query());
  if (got.status === 401) { me = null; show("login"); return; }
  if (got.status !== 200) {
    $("denied").textContent = (got.body && got.body.message) || "统计暂时无法获取，请稍后再试。";
    show("denied");
    return;
  }
  show("report");
  render(got.body);
  $("status").textContent = "";
}

function render(report) {
  const s = report.summary;
  $("title").textContent = `${report.period.label}${report.period.kind_name}`;
  $("generated").textContent = `统计时间：${new Date(report.generated_at * 1000).toLocaleString("zh-CN")}；`
    + `用户按渠道身份计；地区仅统计市民提及或选择的区。`;
  const cards = $("cards");
  cards.replaceChildren();
  for (const [key, label, fmt] of CARDS) {
    const card = el("div", undefined, "card");
    card.append(el("div", fmt ? fmt(s[key], s) : s[key], "value"), el("div", label, "label"));
    cards.append(card);
  }
  const charts = $("charts");
  charts.replaceChildren();
  for (const [name, title] of Object.entries(report.charts)) {
    const fig = el("figure");
    const img = el("img");
    img.alt = `${title}（${report.period.label}）`;
    img.src = `${API}/admin/analytics/charts/${name}.png?${query()}`;
    fig.append(img);
    charts.append(fig);
  }
  const tables = $("tables");
  tables.replaceChildren();
  for (const [key, title, columns] of TABLES) {
    const table = el("table");
    table.append(el("caption", title));
    const head = el("tr");
    for (const [, header] of columns) head.append(el("th", header));
    table.append(head);
    const rows = report[key] || [];
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", "本期暂无数据");
      td.colSpan = columns.length;
      tr.append(td);
      table.append(tr);
    }
    for (const row of rows.slice(0, 10)) {
      const tr = el("tr");
      for (const [field, , numeric] of columns) tr.append(el("td", row[field] ?? "", numeric ? "num" : undefined));
      table.append(tr);
    }
    tables.append(table);
  }
  const exports = $("exports");
  exports.replaceChildren();
  for (const [name, title] of Object.entries(report.tables)) {
    const li = el("li");
    const a = el("a", title);
    a.href = `${API}/admin/analytics/export/${name}.csv?${query()}`;
    li.append(a);
    exports.append(li);
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const got = await call("/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  if (got.status !== 200) {
    $("login-error").textContent = (got.body && got.body.message) || "登录失败，请稍后再试。";
    return;
  }
  me = got.body;
  $("password").value = "";
  await load();
});

$("controls").addEventListener("submit", (event) => { event.preventDefault(); load(); });

$("logout").addEventListener("click", async () => {
  if (me) await call("/logout", { method: "POST", headers: { "X-CSRF-Token": me.csrf } });
  me = null;
  show("login");
});

start();
