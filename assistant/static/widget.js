/*
 * Hall Assistant web chat widget. A hall's site embeds it with one tag:
 *   <script src="https://assistant.example/static/widget.js" defer></script>
 * It adds a launcher button and a chat panel (in a shadow root, so the site's CSS and the
 * widget's never meet) and talks to the assistant that served this script: a websocket at
 * /channels/web/ws, and POST /channels/web/message while the socket is down.
 *
 * The citizen's id is kept in localStorage, so a reload or a reconnect continues the same
 * conversation. Text is always rendered with text nodes (never as HTML); only http(s) and
 * www. addresses become links.
 */
(function () {
  "use strict";
  if (window.HallAssistantWidget) return;          // the tag was included twice
  window.HallAssistantWidget = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var scriptUrl = new URL(script.src, location.href);
  var ORIGIN = scriptUrl.origin;
  var SOCKET_URL = ORIGIN.replace(/^http/, "ws") + "/channels/web/ws";
  var REST_URL = ORIGIN + "/channels/web/message";
  var CSS_URL = new URL("widget.css", scriptUrl).href;

  var MAX_CHARS = 1000;
  var HISTORY_LIMIT = 100;
  var PING_MS = 20000;             // our own ping: the browser hides the gateway's protocol pings
  var SILENCE_MS = 45000;          // nothing heard for this long: the socket is dead, reconnect
  var BACKOFF_MAX_MS = 30000;
  var USER_ID = /^[\w.@:+\-]{1,128}$/;
  var GREETING = "你好";

  var TEXT = {
    launcher: "智能助手",
    launcherLabel: "打开网上办事大厅智能助手",
    launcherUnread: "打开网上办事大厅智能助手（有新消息）",
    title: "网上办事大厅智能助手",
    elderly: "长辈模式",
    elderlyLabel: "长辈模式：放大字号",
    restart: "新对话",
    restartLabel: "开始新对话，并清除本机的对话记录",
    restartConfirm: "开始新对话会清除本机的对话记录，确定吗？",
    close: "关闭",
    closeLabel: "关闭智能助手（Esc）",
    log: "对话记录",
    input: "输入您的问题，按回车发送，Shift+回车换行",
    placeholder: "请输入您的问题，例如：居住证怎么办理",
    send: "发送",
    typing: "智能助手正在输入…",
    connecting: "正在连接…",
    offline: "连接已断开，正在重新连接；您发送的消息仍会送达。",
    queued: "网络不通，消息将在恢复连接后自动发送。",
    you: "我",
    bot: "智能助手",
    image: "图片",
    failed: "抱歉，系统繁忙，请稍后再试。"
  };

  // -- storage: localStorage when the browser allows it, memory otherwise -------------------
  var memory = {};
  var store = {
    get: function (key, fallback) {
      try {
        var raw = window.localStorage.getItem("hall-assistant:" + key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch (e) {
        return key in memory ? memory[key] : fallback;
      }
    },
    set: function (key, value) {
      memory[key] = value;
      try { window.localStorage.setItem("hall-assistant:" + key, JSON.stringify(value)); } catch (e) { /* memory only */ }
    }
  };

  function newUserId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var userId = store.get("user", "");
  if (typeof userId !== "string" || !USER_ID.test(userId)) {
    userId = newUserId();
    store.set("user", userId);
  }
  var history = store.get("history", []);     // [{who: "user"|"bot", text, buttons}]
  var outgoing = store.get("outgoing", []);   // [{text}] waiting for a connection
  if (!Array.isArray(history)) history = [];
  if (!Array.isArray(outgoing)) outgoing = [];

  // -- the panel --------------------------------------------------------------------------
  var host = document.createElement("div");
  host.id = "hall-assistant-widget";
  host.style.visibility = "hidden";           // until widget.css is in
  var root = host.attachShadow({mode: "open"});
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = CSS_URL;
  css.onload = css.onerror = function () { host.style.visibility = ""; };
  root.appendChild(css);

  var box = el("div", "ha");
  var launcher = el("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", TEXT.launcherLabel);
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "ha-panel");
  launcher.appendChild(el("span", "launcher-icon")).setAttribute("aria-hidden", "true");
  launcher.appendChild(el("span", "launcher-text", TEXT.launcher));
  var badge = launcher.appendChild(el("span", "badge"));
  badge.setAttribute("aria-hidden", "true");
  badge.hidden = true;

  var panel = el("section", "panel");
  panel.id = "ha-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "ha-title");
  panel.hidden = true;
  var header = panel.appendChild(el("div", "header"));
  var title = header.appendChild(el("h2", "title", TEXT.title));
  title.id = "ha-title";
  var tools = header.appendChild(el("div", "tools"));
  var elderlyButton = tools.appendChild(button("elderly", TEXT.elderly, TEXT.elderlyLabel));
  var restartButton = tools.appendChild(button("restart", TEXT.restart, TEXT.restartLabel));
  var closeButton = tools.appendChild(button("close", "×", TEXT.closeLabel));
  var status = panel.appendChild(el("div", "status"));
  status.setAttribute("role", "status");
  var log = panel.appendChild(el("div", "log"));
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", TEXT.log);
  log.tabIndex = 0;                           // scrollable by keyboard
  var typing = panel.appendChild(el("div", "typing"));
  typing.setAttribute("role", "status");
  var form = panel.appendChild(el("form", "composer"));
  var label = form.appendChild(el("label", "sr-only", TEXT.input));
  label.htmlFor = "ha-input";
  var input = form.appendChild(el("textarea", "input"));
  input.id = "ha-input";
  input.rows = 2;
  input.maxLength = MAX_CHARS;
  input.placeholder = TEXT.placeholder;
  var sendButton = form.appendChild(el("button", "send", TEXT.send));
  sendButton.type = "submit";

  box.appendChild(launcher);
  box.appendChild(panel);
  root.appendChild(box);
  if (document.body) {
    document.body.appendChild(host);
  } else {                              // included without defer, in <head>
    document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(host); });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function button(cls, text, ariaLabel) {
    var b = el("button", cls, text);
    b.type = "button";
    b.setAttribute("aria-label", ariaLabel);
    return b;
  }

  // -- rendering --------------------------------------------------------------------------
  var LINK = /(?:https?:\/\/|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+/g;

  /** Text with its line breaks (CSS pre-wrap) and its web addresses as safe links. */
  function renderText(node, text) {
    var last = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text)) !== null) {
      var address = match[0].replace(/[.,;:!?'()\]]+$/, "");
      if (!address) continue;
      node.appendChild(document.createTextNode(text.slice(last, match.index)));
      var a = el("a", "", address);
      a.href = /^www\./.test(address) ? "https://" + address : address;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      node.appendChild(a);
      last = match.index + address.length;
      LINK.lastIndex = last;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  function show(entry) {
    var who = entry.who === "user" ? "user" : "bot";
    var item = el("div", "msg " + who);
    item.appendChild(el("span", "sr-only", (who === "user" ? TEXT.you : TEXT.bot) + "："));
    var body = item.appendChild(el("div", "text"));
    renderText(body, String(entry.text || ""));
    if (entry.image && /^https?:\/\//.test(entry.image)) {
      var img = item.appendChild(el("img", "image"));
      img.src = entry.image;
      img.alt = TEXT.image;
    }
    if (entry.buttons && entry.buttons.length) {
      var row = item.appendChild(el("div", "buttons"));
      entry.buttons.forEach(function (b) {
        if (!b || !b.payload) return;
        var choice = row.appendChild(el("button", "choice", String(b.title || b.payload)));
        choice.type = "button";
        choice.addEventListener("click", function () {
          send(String(b.payload), String(b.title || b.payload));
          input.focus();
        });
      });
    }
    log.appendChild(item);
    scrollFor(item, who);
    return item;
  }

  // A long answer is read from its start: the log scrolls to the first reply of a turn, or to
  // the end when everything since then fits.
  var answerStart = null;
  function scrollFor(item, who) {
    if (who === "user") {
      answerStart = null;
      log.scrollTop = log.scrollHeight;
      return;
    }
    if (!answerStart || !answerStart.isConnected) answerStart = item;
    reveal();
  }

  function reveal() {
    if (answerStart && answerStart.isConnected) {
      log.scrollTop = Math.min(log.scrollHeight - log.clientHeight, answerStart.offsetTop - 8);
    } else {
      log.scrollTop = log.scrollHeight;
    }
  }

  function remember(entry) {
    history.push({who: entry.who, text: entry.text, buttons: entry.buttons || [], image: entry.image || ""});
    if (history.length > HISTORY_LIMIT) history = history.slice(-HISTORY_LIMIT);
    store.set("history", history);
  }

  function botSays(frame) {
    var entry = {who: "bot", text: frame.text || "", buttons: frame.buttons || [], image: frame.image || ""};
    show(entry);
    remember(entry);
    if (panel.hidden) setUnread(true);
  }

  function setTyping(on) {
    typing.textContent = on ? TEXT.typing : "";
    typing.classList.toggle("on", on);
    box.setAttribute("data-typing", on ? "true" : "false");
  }

  function setUnread(on) {
    badge.hidden = !on;
    launcher.setAttribute("aria-label", on ? TEXT.launcherUnread : TEXT.launcherLabel);
  }

  // -- connection -------------------------------------------------------------------------
  var socket = null, ready = false, attempt = 0, retryTimer = null, pingTimer = null, heardAt = 0;
  var pendingTurns = 0, wanted = false;

  function setState(state) {
    host.setAttribute("data-state", state);
    var words = {idle: "", open: "", connecting: attempt === 0 ? TEXT.connecting : TEXT.offline, offline: TEXT.offline};
    status.textContent = words[state];
  }

  function connect() {
    wanted = true;
    if (socket || retryTimer) return;
    setState("connecting");
    var ws;
    try {
      ws = new WebSocket(SOCKET_URL + "?user=" + encodeURIComponent(userId));
    } catch (e) {
      retry();
      return;
    }
    socket = ws;
    ws.onmessage = function (event) {
      heardAt = Date.now();
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(ws, frame);
    };
    ws.onclose = function () { lost(ws); };
  }

  /** The socket is gone (closed, or silent too long): carry on by REST and reconnect. */
  function lost(ws) {
    if (socket !== ws) return;
    socket = null;
    ready = false;
    clearInterval(pingTimer);
    if (pendingTurns > 0) {             // their answers come with the next connection or message
      pendingTurns = 0;
      setTyping(false);
    }
    flushByRest();
    retry();
  }

  function retry() {
    if (!wanted || retryTimer) return;
    setState("offline");
    var delay = Math.min(BACKOFF_MAX_MS, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    attempt += 1;
    retryTimer = setTimeout(function () { retryTimer = null; connect(); }, delay);
  }

  function onFrame(ws, frame) {
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "ready") {
      ready = true;
      attempt = 0;
      setState("open");
      heardAt = Date.now();
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (Date.now() - heardAt > SILENCE_MS) {    // a dead network may not even finish a close
          lost(ws);
          ws.close();
          return;
        }
        ws.send(JSON.stringify({type: "ping"}));
      }, PING_MS);
      flushBySocket();
    } else if (frame.type === "typing") {
      setTyping(true);
    } else if (frame.type === "reply") {
      botSays(frame);
      if (frame.id) ws.send(JSON.stringify({type: "ack", id: frame.id}));   // a push: say it was shown
      if (frame.last) turnAnswered();
    } else if (frame.type === "error") {       // a message refused or failed: no reply follows
      if (frame.code === "bad_user") {          // an id the gateway refuses: start afresh
        userId = newUserId();
        store.set("user", userId);
        return;
      }
      botSays({text: frame.message || TEXT.failed});
      turnAnswered();
    }
  }

  function turnAnswered() {
    if (pendingTurns > 0) pendingTurns -= 1;
    setTyping(pendingTurns > 0);
    if (ready && socket && socket.readyState === WebSocket.OPEN) flushBySocket();
  }

  // -- sending ----------------------------------------------------------------------------
  /** Sends a message; `shown` is what the citizen sees as theirs (a button's title), or null. */
  function send(text, shown) {
    if (shown !== null) {
      var entry = {who: "user", text: shown};
      show(entry);
      remember(entry);
    }
    if (ready && socket && socket.readyState === WebSocket.OPEN) return sendBySocket(text);
    if (socket) {                       // connecting: goes once the socket is ready (or by REST)
      queue(text);
      return;
    }
    sendByRest(text);
  }

  function sendBySocket(text) {
    pendingTurns += 1;
    setTyping(true);
    socket.send(JSON.stringify({type: "message", text: text}));
  }

  function queue(text) {
    outgoing.push({text: text});
    store.set("outgoing", outgoing);
  }

  /** Sends the oldest queued message; the next goes when its answer is in (turnAnswered), so a
   *  long queue never meets the gateway's limit of turns in flight per socket. */
  function flushBySocket() {
    if (!outgoing.length || pendingTurns > 0) return;
    var next = outgoing.shift();
    store.set("outgoing", outgoing);
    sendBySocket(next.text);
  }

  function flushByRest() {
    var waiting = outgoing;
    outgoing = [];
    store.set("outgoing", outgoing);
    waiting.reduce(function (previous, m) {
      return previous.then(function () { return sendByRest(m.text); });
    }, Promise.resolve());
  }

  function sendByRest(text) {
    pendingTurns += 1;
    setTyping(true);
    return fetch(REST_URL, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({user: userId, text: text})
    }).then(function (response) {
      return response.json().then(function (data) {
        turnAnswered();
        if (!response.ok || !Array.isArray(data)) {
          botSays({text: (data && data.message) || TEXT.failed});
          return;
        }
        data.forEach(botSays);
      });
    }).catch(function () {              // no network: kept, and sent when the socket is back
      turnAnswered();
      queue(text);
      status.textContent = TEXT.queued;
    });
  }

  // -- opening, closing, keyboard -----------------------------------------------------------
  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    box.classList.add("open");
    setUnread(false);
    sessionStorageSet("open", true);
    connect();
    if (!history.length && !outgoing.length) send(GREETING, null);
    reveal();                           // laid out only now that the panel shows
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    box.classList.remove("open");
    sessionStorageSet("open", false);
    launcher.focus();
  }

  function sessionStorageSet(key, value) {
    try { window.sessionStorage.setItem("hall-assistant:" + key, JSON.stringify(value)); } catch (e) { /* not kept */ }
  }

  function sessionStorageGet(key) {
    try { return JSON.parse(window.sessionStorage.getItem("hall-assistant:" + key)); } catch (e) { return null; }
  }

  function setElderly(on) {
    box.classList.toggle("elderly", on);
    elderlyButton.setAttribute("aria-pressed", on ? "true" : "false");
    store.set("elderly", on);
  }

  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  closeButton.addEventListener("click", close);
  elderlyButton.addEventListener("click", function () { setElderly(!box.classList.contains("elderly")); });
  restartButton.addEventListener("click", function () {
    if (!window.confirm(TEXT.restartConfirm)) return;
    history = [];
    outgoing = [];
    store.set("history", history);
    store.set("outgoing", outgoing);
    userId = newUserId();
    store.set("user", userId);
    while (log.firstChild) log.removeChild(log.firstChild);
    var old = socket;                  // the old conversation's socket: dropped, then a new one
    socket = null;
    ready = false;
    pendingTurns = 0;
    setTyping(false);
    clearInterval(pingTimer);
    clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    if (old) { old.onclose = null; old.close(); }
    connect();
    send(GREETING, null);
    input.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that ends a Chinese IME composition is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", {cancelable: true}));
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, text);
  });
  window.addEventListener("online", function () {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; attempt = 0; connect(); }
  });

  // -- start: the conversation so far, the citizen's settings -------------------------------
  history.forEach(show);
  answerStart = null;
  setElderly(store.get("elderly", false) === true);
  setTyping(false);
  setState("idle");
  // A citizen who has talked before gets pushes (a filing's number, a reminder) while browsing.
  if (history.length || outgoing.length) connect();
  if (sessionStorageGet("open") === true) open();
})();
