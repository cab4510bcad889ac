// samagate demo chat client: plain JS, no build step, no external resources.
// Speaks the SAMA JSON protocol over a websocket on the page's own origin and
// uses /login and /logout on the same origin for HTTP auth.
(function () {
  "use strict";

  // ---------- small helpers ----------

  var $ = function (id) { return document.getElementById(id); };

  // el builds an element; text is always set with textContent so user data is
  // never parsed as HTML.
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // uuid works outside secure contexts too (crypto.randomUUID needs https or
  // localhost; the demo may be served over plain http on a LAN address).
  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try { return window.crypto.randomUUID(); } catch (e) { /* fall through */ }
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // toMillis accepts unix seconds, unix milliseconds, numeric strings or
  // date strings and returns milliseconds (0 when unknown).
  function toMillis(v) {
    if (v === undefined || v === null || v === "") return 0;
    if (typeof v === "string" && /^\d+(\.\d+)?$/.test(v)) v = Number(v);
    if (typeof v === "number") return v < 1e12 ? v * 1000 : v;
    var p = Date.parse(v);
    return isNaN(p) ? 0 : p;
  }

  function formatTime(ms) {
    if (!ms) return "";
    var d = new Date(ms);
    var now = new Date();
    if (d.toDateString() === now.toDateString()) {
      return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    return d.toLocaleDateString() + " " + d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function sid(v) { return v === undefined || v === null ? "" : String(v); }

  var errorTimer = null;
  function showError(msg) {
    var box = $("error");
    box.textContent = String(msg || "Something went wrong");
    box.classList.remove("hidden");
    clearTimeout(errorTimer);
    errorTimer = setTimeout(function () { box.classList.add("hidden"); }, 6000);
  }

  function setStatus(text, online) {
    var s = $("status");
    s.textContent = text;
    s.classList.toggle("online", !!online);
  }

  // ---------- persistent state ----------

  var AUTH_KEY = "samagate.auth";
  var DEVICE_KEY = "samagate.device_id";

  function deviceId() {
    var id = localStorage.getItem(DEVICE_KEY);
    if (!id) {
      id = uuid();
      localStorage.setItem(DEVICE_KEY, id);
    }
    return id;
  }

  function loadAuth() {
    try {
      var a = JSON.parse(localStorage.getItem(AUTH_KEY) || "null");
      if (a && a.token && a.user && a.user._id !== undefined) {
        a.user._id = sid(a.user._id);
        return a;
      }
    } catch (e) { /* corrupt entry: treat as logged out */ }
    return null;
  }

  function saveAuth(a) {
    if (a) localStorage.setItem(AUTH_KEY, JSON.stringify(a));
    else localStorage.removeItem(AUTH_KEY);
  }

  // ---------- runtime state ----------

  var state = {
    auth: loadAuth(),
    ready: false,            // websocket session authenticated via connect
    connecting: false,
    conversations: new Map(), // cid -> conversation
    participants: new Map(),  // cid -> [uid]
    users: new Map(),         // uid -> user
    lastActivity: new Map(),  // uid -> 0 (online) | unix seconds
    currentCid: null,
    typingTimers: new Map(),  // cid -> {from, timer}
    lastTypingSent: 0
  };

  function me() { return state.auth ? state.auth.user : null; }
  function isOwn(from) { return !!me() && sid(from) === me()._id; }

  // ---------- websocket + request/response ----------

  var ws = null;
  var pending = new Map(); // request id -> {resolve, reject, timer}
  var backoff = 1000;
  var reconnectTimer = null;

  function wsURL() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
  }

  function openSocket() {
    clearTimeout(reconnectTimer);
    setStatus("connecting…", false);
    var sock = new WebSocket(wsURL());
    ws = sock;
    sock.onopen = function () {
      if (ws !== sock) return;
      backoff = 1000;
      setStatus("connected", true);
      resumeSession();
    };
    sock.onmessage = function (ev) {
      if (ws !== sock) return;
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data && typeof data === "object") handleFrame(data);
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      state.ready = false;
      state.connecting = false;
      pending.forEach(function (p) {
        clearTimeout(p.timer);
        p.reject(new Error("connection closed"));
      });
      pending.clear();
      var delay = backoff;
      backoff = Math.min(backoff * 2, 10000);
      setStatus("disconnected, reconnecting in " + Math.round(delay / 1000) + "s…", false);
      reconnectTimer = setTimeout(openSocket, delay);
    };
    sock.onerror = function () { /* onclose follows and handles reconnect */ };
  }

  function sendFrame(obj) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(obj));
    return true;
  }

  // request sends {"request":{"<method>":params,"id":id}} and resolves with
  // the response object (minus id) or rejects with the server's message.
  function request(method, params) {
    return new Promise(function (resolve, reject) {
      var id = uuid();
      var req = { id: id };
      req[method] = params || {};
      var timer = setTimeout(function () {
        pending.delete(id);
        reject(new Error(method + ": no reply from server"));
      }, 15000);
      pending.set(id, { resolve: resolve, reject: reject, timer: timer });
      if (!sendFrame({ request: req })) {
        clearTimeout(timer);
        pending.delete(id);
        reject(new Error("not connected to the server"));
      }
    });
  }

  function handleFrame(data) {
    if (data.response) {
      var r = data.response;
      var p = pending.get(sid(r.id));
      if (p) {
        pending.delete(sid(r.id));
        clearTimeout(p.timer);
        if (r.error) p.reject(new Error(r.error.message || ("error " + (r.error.status || ""))));
        else p.resolve(r);
      }
      return; // replies to unknown ids are ignored
    }
    // Errors to top-level frames come back under the frame's own key:
    // {"message":{"id":"<client id>","error":{...}}}.
    if (data.message && data.message.error) { failOutgoing(sid(data.message.id), data.message.error); return; }
    if (data.typing && data.typing.error) return; // typing is best-effort
    if (data.ask) onAsk(data.ask);
    if (data.message) onMessage(data.message);
    if (data.typing) onTyping(data.typing);
    if (data.message_read) onMessageRead(data.message_read);
    if (data.last_activity) onLastActivity(data.last_activity);
    if (data.system_message) onSystemMessage(data.system_message);
  }

  // ---------- session ----------

  function showAuthView() {
    $("chat-view").classList.add("hidden");
    $("auth-view").classList.remove("hidden");
  }

  function showChatView() {
    $("auth-view").classList.add("hidden");
    $("chat-view").classList.remove("hidden");
    $("me-login").textContent = me() ? (me().login || "") : "";
  }

  // httpLogin POSTs /login; body without login/password asks the server to
  // re-login with the refresh_token cookie.
  function httpLogin(body) {
    body.device_id = deviceId();
    return fetch("/login", {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      if (!res.ok) {
        return res.text().then(function (t) {
          throw new Error((t || "").trim() || ("login failed (" + res.status + ")"));
        });
      }
      return res.json();
    }).then(function (j) {
      if (!j || !j.access_token || !j.user) throw new Error("unexpected login reply");
      j.user._id = sid(j.user._id);
      state.auth = { token: j.access_token, expired_at: toMillis(j.expired_at), user: j.user };
      saveAuth(state.auth);
      state.users.set(j.user._id, j.user);
      return state.auth;
    });
  }

  function tokenFresh() {
    return !!state.auth && state.auth.expired_at - Date.now() > 5000;
  }

  // resumeSession runs on every socket open: reuse a fresh token, else try
  // the refresh cookie, else show the login form.
  function resumeSession() {
    if (state.connecting || state.ready) return;
    if (tokenFresh()) {
      connectSocket().catch(function () { refreshOrLogin(); });
    } else {
      refreshOrLogin();
    }
  }

  function refreshOrLogin() {
    httpLogin({}).then(function () {
      return connectSocket();
    }).catch(function () {
      state.auth = null;
      saveAuth(null);
      showAuthView();
    });
  }

  function connectSocket() {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve(); // onopen will call resumeSession
    }
    state.connecting = true;
    return request("connect", { token: state.auth.token, device_id: deviceId() }).then(function () {
      state.connecting = false;
      state.ready = true;
      setStatus("online as " + (me().login || me()._id), true);
      showChatView();
      return loadConversations().then(function () {
        if (state.currentCid && state.conversations.has(state.currentCid)) {
          openChat(state.currentCid); // catch up on messages missed while away
        }
      });
    }, function (err) {
      state.connecting = false;
      throw err;
    });
  }

  function resetChatState() {
    state.conversations.clear();
    state.participants.clear();
    state.lastActivity.clear();
    state.currentCid = null;
    $("conversations").textContent = "";
    $("messages").textContent = "";
    $("search-results").textContent = "";
    $("search").value = "";
    $("chat-title").textContent = "Select a conversation";
    $("presence").textContent = "";
    $("typing").textContent = "";
    setComposerEnabled(false);
  }

  function logout() {
    var token = state.auth ? state.auth.token : "";
    var done = function () {
      state.auth = null;
      saveAuth(null);
      state.ready = false;
      resetChatState();
      showAuthView();
      // Drop the authenticated socket; a fresh one starts unauthenticated.
      if (ws) {
        var old = ws;
        ws = null;
        old.onclose = null;
        old.close(1000, "logout");
        pending.forEach(function (p) { clearTimeout(p.timer); p.reject(new Error("logged out")); });
        pending.clear();
      }
      backoff = 1000;
      openSocket();
    };
    fetch("/logout", {
      method: "POST",
      credentials: "include",
      headers: { "Authorization": "Bearer " + token }
    }).then(done, done);
  }

  // ---------- conversations ----------

  function otherUserId(conv) {
    var myId = me() ? me()._id : "";
    var ps = state.participants.get(sid(conv._id));
    if (ps) {
      for (var i = 0; i < ps.length; i++) if (ps[i] !== myId) return ps[i];
    }
    var owner = sid(conv.owner_id), opp = sid(conv.opponent_id);
    if (owner && owner !== myId) return owner;
    if (opp && opp !== myId) return opp;
    return "";
  }

  function convName(conv) {
    if (conv.type === "u") {
      var u = state.users.get(otherUserId(conv));
      return u ? (u.login || u._id) : (conv.name || "…");
    }
    return conv.name || "Group";
  }

  function userLogin(uid) {
    var u = state.users.get(sid(uid));
    return u ? (u.login || u._id) : sid(uid);
  }

  function upsertConversation(conv) {
    conv._id = sid(conv._id);
    var old = state.conversations.get(conv._id);
    if (old) {
      Object.keys(conv).forEach(function (k) { old[k] = conv[k]; });
      return old;
    }
    conv.unread_messages_count = conv.unread_messages_count || 0;
    state.conversations.set(conv._id, conv);
    return conv;
  }

  function sortKey(conv) {
    var lm = conv.last_message;
    return Math.max(toMillis(conv.updated_at), lm ? toMillis(lm.t) : 0);
  }

  function renderConversations() {
    var list = $("conversations");
    list.textContent = "";
    var convs = Array.from(state.conversations.values());
    convs.sort(function (a, b) { return sortKey(b) - sortKey(a); });
    convs.forEach(function (c) {
      var li = el("li", "conversation");
      li.dataset.cid = c._id;
      li.dataset.testid = "conversation";
      if (c._id === state.currentCid) li.classList.add("active");
      var main = el("div", "conv-main");
      main.appendChild(el("div", "conv-name", convName(c)));
      var last = "";
      if (state.typingTimers.has(c._id)) last = "typing…";
      else if (c.last_message) last = (isOwn(c.last_message.from) ? "You: " : "") + (c.last_message.body || "");
      main.appendChild(el("div", "conv-last", last));
      li.appendChild(main);
      var n = c._id === state.currentCid ? 0 : (c.unread_messages_count || 0);
      li.appendChild(el("span", "unread", n > 0 ? n : ""));
      li.addEventListener("click", function () { openChat(c._id); });
      list.appendChild(li);
    });
  }

  function loadConversations() {
    return request("conversation_list", {}).then(function (r) {
      state.conversations.clear();
      (r.conversations || []).forEach(upsertConversation);
      renderConversations();
      return loadParticipants(Array.from(state.conversations.keys()));
    }).catch(function (e) { showError(e.message); });
  }

  function loadParticipants(cids) {
    if (!cids.length) return Promise.resolve();
    return request("get_participants_by_cids", { cids: cids }).then(function (r) {
      (r.users || []).forEach(function (u) {
        u._id = sid(u._id);
        state.users.set(u._id, u);
      });
      var map = r.conversations || {};
      Object.keys(map).forEach(function (cid) {
        state.participants.set(sid(cid), (map[cid] || []).map(sid));
      });
      renderConversations();
      renderHeader();
    }).catch(function (e) { showError(e.message); });
  }

  // ---------- open chat ----------

  function setComposerEnabled(on) {
    $("composer").disabled = !on;
    $("send-btn").disabled = !on;
    $("file-input").disabled = !on;
  }

  function renderHeader() {
    var conv = state.conversations.get(state.currentCid);
    if (!conv) return;
    $("chat-title").textContent = convName(conv);
    renderPresence();
    renderTyping();
  }

  function renderPresence() {
    var p = $("presence");
    var conv = state.conversations.get(state.currentCid);
    if (!conv || conv.type !== "u") { p.textContent = ""; return; }
    var uid = otherUserId(conv);
    if (!state.lastActivity.has(uid)) { p.textContent = ""; return; }
    var ts = state.lastActivity.get(uid);
    p.textContent = ts === 0 ? "online" : "last seen " + formatTime(toMillis(ts));
    p.classList.toggle("online", ts === 0);
  }

  function renderTyping() {
    var t = state.typingTimers.get(state.currentCid);
    var conv = state.conversations.get(state.currentCid);
    if (!t) { $("typing").textContent = ""; return; }
    $("typing").textContent = conv && conv.type === "g" ? userLogin(t.from) + " is typing…" : "typing…";
  }

  function openChat(cid) {
    cid = sid(cid);
    var conv = state.conversations.get(cid);
    if (!conv) return;
    state.currentCid = cid;
    conv.unread_messages_count = 0;
    $("messages").textContent = "";
    renderConversations();
    renderHeader();
    setComposerEnabled(true);
    request("message_list", { cid: cid, limit: 50 }).then(function (r) {
      if (state.currentCid !== cid) return;
      $("messages").textContent = "";
      var msgs = (r.messages || []).slice().reverse(); // server sends newest first
      msgs.forEach(function (m) { appendMessage(m); });
      scrollToBottom();
      if (conv.type === "u") {
        var uid = otherUserId(conv);
        if (uid) {
          request("user_last_activity_subscribe", { id: uid }).then(function (r2) {
            onLastActivity(r2.last_activity || {});
          }).catch(function (e) { showError(e.message); });
        }
      }
      return markRead(cid);
    }).catch(function (e) { showError(e.message); });
    $("composer").focus();
  }

  function markRead(cid) {
    return request("message_read", { cid: cid }).then(function () {
      var c = state.conversations.get(cid);
      if (c) c.unread_messages_count = 0;
      renderConversations();
    }).catch(function (e) { showError(e.message); });
  }

  // ---------- messages ----------

  function scrollToBottom() {
    var box = $("messages");
    box.scrollTop = box.scrollHeight;
  }

  function findBubble(attr, value) {
    var nodes = $("messages").querySelectorAll(".msg");
    for (var i = 0; i < nodes.length; i++) if (nodes[i].dataset[attr] === value) return nodes[i];
    return null;
  }

  function setTicks(li, status) {
    li.classList.remove("pending", "sent", "read", "failed");
    li.classList.add(status);
    var t = li.querySelector(".ticks");
    if (!t) return;
    t.textContent = status === "read" ? "✓✓" : status === "sent" ? "✓" : status === "failed" ? "✗" : "…";
    t.title = status;
  }

  // appendMessage renders one message bubble; status is "pending" for our own
  // unsent messages, otherwise derived from the message.
  function appendMessage(m, status) {
    var id = sid(m._id);
    if (id && findBubble("id", id)) return null; // already shown
    var own = isOwn(m.from);
    var conv = state.conversations.get(state.currentCid);
    var li = el("li", own ? "msg own" : "msg");
    li.dataset.testid = own ? "msg-own" : "msg";
    if (id) li.dataset.id = id;
    if (m.clientId) li.dataset.clientId = m.clientId;
    if (!own && conv && conv.type === "g") li.appendChild(el("span", "from", userLogin(m.from)));
    li.appendChild(el("span", "body", m.body || ""));
    var meta = el("span", "meta", formatTime(toMillis(m.t) || Date.now()));
    if (own) {
      var ticks = el("span", "ticks");
      ticks.dataset.testid = "ticks";
      meta.appendChild(ticks);
    }
    li.appendChild(meta);
    renderAttachments(li, m.attachments);
    $("messages").appendChild(li);
    if (own) setTicks(li, status || (m.status === "read" ? "read" : "sent"));
    return li;
  }

  function sendMessage(body) {
    var cid = state.currentCid;
    if (!cid || !body) return;
    if (!state.ready) { showError("not connected to the server"); return; }
    var clientId = uuid();
    if (!sendFrame({ message: { id: clientId, cid: cid, body: body } })) {
      showError("not connected to the server");
      return;
    }
    var li = appendMessage({ clientId: clientId, from: me()._id, body: body, t: Date.now() }, "pending");
    scrollToBottom();
    var conv = state.conversations.get(cid);
    if (conv) {
      conv.last_message = { body: body, from: me()._id, t: Math.floor(Date.now() / 1000) };
      conv.updated_at = Date.now();
      renderConversations();
    }
    return li;
  }

  // ---------- attachments ----------

  // renderAttachments shows a message's files: images inline, others as
  // links. Their URLs expire, so they are asked for (get_file_urls) when
  // the message is shown.
  function renderAttachments(li, atts) {
    if (!Array.isArray(atts) || atts.length === 0) return;
    var box = el("div", "attachments");
    li.insertBefore(box, li.querySelector(".meta"));
    var ids = [];
    atts.forEach(function (a) {
      var id = sid(a && a.file_id);
      if (!id) return;
      ids.push(id);
      var slot = el("div", "attachment", String(a.file_name || "file"));
      slot.dataset.fileId = id;
      slot.dataset.type = String(a.file_content_type || "");
      slot.dataset.name = String(a.file_name || "file");
      box.appendChild(slot);
    });
    if (!ids.length) return;
    request("get_file_urls", { file_ids: ids.slice(0, 10) }).then(function (r) {
      var urls = r.file_urls || {};
      box.querySelectorAll(".attachment").forEach(function (slot) {
        var url = urls[slot.dataset.fileId];
        if (!url) return;
        slot.textContent = "";
        if (/^image\//i.test(slot.dataset.type) && !/svg/i.test(slot.dataset.type)) {
          var img = document.createElement("img");
          img.alt = slot.dataset.name;
          img.dataset.testid = "attachment-image";
          img.src = url;
          slot.appendChild(img);
        } else {
          var link = el("a", "file-link", slot.dataset.name);
          link.href = url;
          link.target = "_blank";
          link.rel = "noopener";
          link.dataset.testid = "attachment-file";
          slot.appendChild(link);
        }
      });
    }).catch(function (e) { showError(e.message); });
  }

  // imageSize resolves {w, h} of an image file (null for other files).
  function imageSize(file) {
    if (!/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve(null);
    return createImageBitmap(file).then(function (b) {
      var size = { w: b.width, h: b.height };
      if (b.close) b.close();
      return size;
    }, function () { return null; });
  }

  // sendFile: create_files, PUT the bytes to the upload URL, then send a
  // message carrying the file (with an image's dimensions).
  function sendFile(file) {
    var cid = state.currentCid;
    if (!cid || !file) return;
    var ct = file.type || "application/octet-stream";
    request("create_files", [{ name: file.name, size: file.size, content_type: ct }]).then(function (r) {
      var f = r.files[0];
      return fetch(f.upload_url, { method: "PUT", headers: { "Content-Type": ct }, body: file }).then(function (res) {
        if (!res.ok) throw new Error("upload failed (" + res.status + ")");
        return imageSize(file);
      }).then(function (size) {
        var att = { file_id: f._id, file_name: file.name, file_size: file.size, file_content_type: ct };
        if (size) { att.file_width = size.w; att.file_height = size.h; }
        var clientId = uuid();
        if (!sendFrame({ message: { id: clientId, cid: cid, attachments: [att] } })) throw new Error("not connected to the server");
        if (cid === state.currentCid) {
          appendMessage({ clientId: clientId, from: me()._id, body: "", attachments: [att], t: Date.now() }, "pending");
          scrollToBottom();
        }
      });
    }).catch(function (e) { showError(e.message); });
  }

  function onAsk(a) {
    var li = findBubble("clientId", sid(a.mid));
    if (!li) return;
    if (a.server_mid !== undefined) li.dataset.id = sid(a.server_mid);
    if (!li.classList.contains("read")) setTicks(li, "sent");
  }

  function failOutgoing(clientId, err) {
    var li = findBubble("clientId", clientId);
    if (li) setTicks(li, "failed");
    showError(err.message || "message not sent");
  }

  function tabActive() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  function onMessage(m) {
    m.cid = sid(m.cid);
    m.from = sid(m.from);
    var conv = state.conversations.get(m.cid);
    if (!conv) {
      // A conversation we have not seen yet: refresh the list to learn it.
      loadConversations();
      return;
    }
    conv.last_message = m;
    conv.updated_at = toMillis(m.t) || Date.now();
    clearTyping(m.cid, m.from);
    if (m.cid === state.currentCid) {
      appendMessage(m);
      scrollToBottom();
      if (!isOwn(m.from)) {
        if (tabActive()) markRead(m.cid);
        else conv.unread_messages_count = (conv.unread_messages_count || 0) + 1;
      }
    } else if (!isOwn(m.from)) {
      conv.unread_messages_count = (conv.unread_messages_count || 0) + 1;
    }
    renderConversations();
  }

  function onTyping(t) {
    var cid = sid(t.cid), from = sid(t.from);
    if (isOwn(from)) return;
    var prev = state.typingTimers.get(cid);
    if (prev) clearTimeout(prev.timer);
    var timer = setTimeout(function () { clearTyping(cid); }, 4000);
    state.typingTimers.set(cid, { from: from, timer: timer });
    if (cid === state.currentCid) renderTyping();
    renderConversations();
  }

  function clearTyping(cid, from) {
    var t = state.typingTimers.get(cid);
    if (!t || (from && t.from !== from)) return;
    clearTimeout(t.timer);
    state.typingTimers.delete(cid);
    if (cid === state.currentCid) renderTyping();
    renderConversations();
  }

  function onMessageRead(r) {
    var cid = sid(r.cid);
    if (isOwn(r.from) || cid !== state.currentCid) return;
    var ids = Array.isArray(r.ids) ? r.ids.map(sid) : null;
    var nodes = $("messages").querySelectorAll(".msg.own");
    for (var i = 0; i < nodes.length; i++) {
      var li = nodes[i];
      if (!ids || ids.length === 0 || ids.indexOf(li.dataset.id) >= 0) setTicks(li, "read");
    }
  }

  function onLastActivity(la) {
    Object.keys(la || {}).forEach(function (uid) {
      state.lastActivity.set(sid(uid), Number(la[uid]) || 0);
    });
    renderPresence();
  }

  function onSystemMessage(s) {
    var created = s.x && s.x.conversation_created;
    if (!created) return;
    if (created._id === undefined) created._id = s.cid;
    var conv = upsertConversation(created);
    renderConversations();
    loadParticipants([conv._id]);
  }

  // ---------- search + create ----------

  function searchUsers(keyword) {
    return request("user_search", { keyword: keyword, ignore_ids: [], limit: 10 }).then(function (r) {
      var users = (r.users || []).map(function (u) { u._id = sid(u._id); return u; });
      users.forEach(function (u) { if (!state.users.has(u._id)) state.users.set(u._id, u); });
      return users;
    });
  }

  var searchTimer = null;
  var searchSeq = 0;
  function onSearchInput() {
    clearTimeout(searchTimer);
    var kw = $("search").value.trim();
    var box = $("search-results");
    if (kw.length < 2) { box.textContent = ""; searchSeq++; return; }
    searchTimer = setTimeout(function () {
      var seq = ++searchSeq;
      searchUsers(kw).then(function (users) {
        if (seq !== searchSeq) return; // a newer search superseded this one
        box.textContent = "";
        users.filter(function (u) { return !isOwn(u._id); }).forEach(function (u) {
          var li = el("li", "search-result", u.login || u._id);
          li.dataset.uid = u._id;
          li.dataset.testid = "search-result";
          li.addEventListener("click", function () { startDirectChat(u); });
          box.appendChild(li);
        });
        if (!box.childNodes.length) box.appendChild(el("li", "search-empty", "no users found"));
      }).catch(function (e) { showError(e.message); });
    }, 300);
  }

  function startDirectChat(u) {
    $("search").value = "";
    $("search-results").textContent = "";
    request("conversation_create", { type: "u", participants: [u._id] }).then(function (r) {
      var conv = upsertConversation(r.conversation);
      state.participants.set(conv._id, [me()._id, u._id]);
      renderConversations();
      openChat(conv._id);
      loadParticipants([conv._id]);
    }).catch(function (e) { showError(e.message); });
  }

  function createGroup(name, logins) {
    var wanted = logins.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    if (!name || !wanted.length) { showError("group needs a name and at least one login"); return; }
    Promise.all(wanted.map(function (login) {
      return searchUsers(login).then(function (users) {
        var hit = users.filter(function (u) { return (u.login || "").toLowerCase() === login.toLowerCase(); })[0];
        if (!hit) throw new Error("unknown user: " + login);
        return hit._id;
      });
    })).then(function (ids) {
      ids = ids.filter(function (id, i) { return ids.indexOf(id) === i && !isOwn(id); });
      return request("conversation_create", { type: "g", name: name, participants: ids });
    }).then(function (r) {
      var conv = upsertConversation(r.conversation);
      $("group-name").value = "";
      $("group-members").value = "";
      $("group-box").open = false;
      renderConversations();
      openChat(conv._id);
      loadParticipants([conv._id]);
    }).catch(function (e) { showError(e.message); });
  }

  // ---------- wiring ----------

  function busy(btn, p) {
    btn.disabled = true;
    return p.then(function (v) { btn.disabled = false; return v; }, function (e) { btn.disabled = false; throw e; });
  }

  function afterLogin() {
    resetChatState();
    if (ws && ws.readyState === WebSocket.OPEN) {
      return connectSocket().catch(function (e) { showError(e.message); });
    }
    // Socket is (re)connecting; onopen -> resumeSession uses the new token.
    return Promise.resolve();
  }

  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var login = $("login-login").value.trim(), password = $("login-password").value;
    busy($("login-btn"), httpLogin({ login: login, password: password }))
      .then(function () { $("login-password").value = ""; return afterLogin(); })
      .catch(function (e) { showError(e.message); });
  });

  $("signup-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var login = $("signup-login").value.trim(), password = $("signup-password").value;
    busy($("signup-btn"), request("user_create", { login: login, password: password }).then(function () {
      // Sign-up only creates the account; log straight in for convenience.
      return httpLogin({ login: login, password: password });
    })).then(function () { $("signup-password").value = ""; return afterLogin(); })
      .catch(function (e) { showError(e.message); });
  });

  $("logout-btn").addEventListener("click", logout);
  $("search").addEventListener("input", onSearchInput);
  $("group-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    createGroup($("group-name").value.trim(), $("group-members").value);
  });

  $("composer-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = $("composer").value;
    if (!body.trim()) return;
    if (sendMessage(body)) $("composer").value = "";
  });

  $("file-input").addEventListener("change", function () {
    var input = $("file-input");
    Array.prototype.forEach.call(input.files || [], sendFile);
    input.value = "";
  });

  $("composer").addEventListener("input", function () {
    var cid = state.currentCid;
    if (!cid || !state.ready || !$("composer").value) return;
    var now = Date.now();
    if (now - state.lastTypingSent < 3000) return;
    state.lastTypingSent = now;
    sendFrame({ typing: { cid: cid } });
  });

  $("error").addEventListener("click", function () { $("error").classList.add("hidden"); });

  // When the tab regains focus, read whatever arrived in the open chat.
  function onFocusBack() {
    var c = state.conversations.get(state.currentCid);
    if (state.ready && c && tabActive() && c.unread_messages_count > 0) markRead(c._id);
  }
  window.addEventListener("focus", onFocusBack);
  document.addEventListener("visibilitychange", onFocusBack);

  deviceId();
  openSocket();
})();
