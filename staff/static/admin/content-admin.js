// Shared by the knowledge upkeep and content review pages: the staff session (login form when
// there is none), JSON calls carrying the session's CSRF token, and a small element builder
// that only ever sets text (nothing a citizen or publisher wrote is parsed as HTML).
"use strict";

const Admin = (() => {
  let me = null;
  let onReady = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function call(method, path, body) {
    const headers = {"Accept": "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (me && method !== "GET") headers["X-CSRF-Token"] = me.csrf;
    let resp;
    try {
      resp = await fetch(path, {method, headers, credentials: "same-origin",
                                body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      throw new Error("网络连接失败，请检查网络后重试。");
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (resp.status === 401) { me = null; showLogin(); }
    if (!resp.ok) throw new Error((data && data.message) || "请求失败，请稍后再试。");
    return data;
  }

  function showLogin() {
    document.getElementById("login").classList.remove("hidden");
    document.getElementById("app").classList.add("hidden");
    document.getElementById("who").textContent = "";
  }

  function showApp() {
    document.getElementById("login").classList.add("hidden");
    document.getElementById("app").classList.remove("hidden");
    const who = document.getElementById("who");
    who.replaceChildren(`${me.name}（${me.role_name}）`, " ",
      el("button", {type: "button", class: "secondary", onclick: logout}, "退出登录"));
    onReady(me);
  }

  async function logout() {
    try { await call("POST", "/staff/api/logout", {}); } catch (e) { /* the session is gone anyway */ }
    me = null;
    showLogin();
  }

  async function start(ready) {
    onReady = ready;
    document.getElementById("login").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const error = document.getElementById("login-error");
      error.textContent = "";
      try {
        me = await call("POST", "/staff/api/login", {username: form.username.value, password: form.password.value});
        form.password.value = "";
        showApp();
      } catch (e) {
        error.textContent = e.message;
      }
    });
    try {
      me = await call("GET", "/staff/api/me");
      showApp();
    } catch (e) {
      showLogin();
    }
  }

  function time(seconds) {
    if (!seconds) return "";
    const d = new Date(Number(seconds) * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function say(id, text, isError) {
    const node = document.getElementById(id);
    node.className = isError ? "error" : "notice";
    node.textContent = text;
  }

  return {el, call, start, time, say, me: () => me};
})();
