// The audit log page: log in (administrators only), search, page back, export CSV.
"use strict";
const API = "/staff/api";
const $ = (id) => document.getElementById(id);
let me = null;
let next = "";

function show(section) {
  $("login").classList.toggle("hidden", section !== "login");
  $("audit").classList.toggle("hidden", section !== "audit");
}

async function call(path, options = {}) {
  const resp = await fetch(API + path, { credentials: "same-origin", ...options });
  const body = await resp.json().catch(() => ({}));
  return { status: resp.status, body };
}

function filters() {
  const form = new FormData($("filters"));
  const params = new URLSearchParams();
  for (const [key, value] of form) if (value) params.set(key, value);
  return params;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function render(entries, append) {
  const body = $("rows");
  if (!append) body.textContent = "";
  for (const e of entries) {
    const tr = document.createElement("tr");
    [e.time, e.actor, e.role, e.action, e.target, e.ip].forEach((v) => tr.appendChild(cell(v || "")));
    const details = cell(JSON.stringify(e.details));
    details.className = "details";
    tr.appendChild(details);
    body.appendChild(tr);
  }
  if (!append && entries.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("没有符合条件的记录。");
    td.colSpan = 7;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

async function search(append) {
  const params = filters();
  params.set("limit", "100");
  if (append && next) params.set("before", next);
  $("error").textContent = "";
  const { status, body } = await call("/admin/audit?" + params);
  if (status === 401) return start();
  if (status !== 200) { $("error").textContent = body.message || "查询失败，请稍后再试。"; return; }
  render(body.entries, append);
  next = body.next;
  $("more").classList.toggle("hidden", !next);
  $("export").href = API + "/admin/audit.csv?" + filters();
}

async function start() {
  const { status, body } = await call("/me");
  if (status !== 200) { show("login"); $("who").textContent = ""; return; }
  me = body;
  $("who").textContent = `${me.name}（${me.role_name}）`;
  if (me.role !== "admin") {
    show("login");
    $("login-error").textContent = "审计日志仅限系统管理员查看，请使用系统管理员账号登录。";
    return;
  }
  show("audit");
  search(false);
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const { status, body } = await call("/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  if (status !== 200) { $("login-error").textContent = body.message || "登录失败。"; return; }
  $("login-error").textContent = "";
  start();
});

$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); search(false); });
$("more").addEventListener("click", () => search(true));
$("logout").addEventListener("click", async () => {
  await call("/logout", { method: "POST", headers: { "X-CSRF-Token": me ? me.csrf : "" } });
  me = null;
  start();
});

start();
