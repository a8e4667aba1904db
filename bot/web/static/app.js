// The chat page: sends questions to /api/chat (which relays to Rasa) and shows the answers accessibly.
// One question is in flight at a time; the conversation is kept in sessionStorage (this tab, this device only).
(function () {
  "use strict";
  const LIMIT = 2000;
  const STORE = "westbot-conversation";
  const RETRY_SWITCH_MS = 5000;
  const PHONE = /(0\d{2,3}-\d{7,8}|0\d{9,11}|1[3-9]\d{9}|12345|9[56]\d{3})(?![\d-])/g;
  const log = document.getElementById("log");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const busyNote = document.getElementById("busy");
  const clearButton = document.getElementById("clear");
  const elderSwitch = document.getElementById("elder-switch");
  const elderState = document.getElementById("elder-state");

  let busy = false;
  let voiceAvailable = false;
  let conversation = [];  // [{who, text, buttons, voice, failed, payload, chosen}]
  let switchTimer = null;

  function stored(storage, key) {
    try { return storage.getItem(key); } catch (e) { return null; }  // private mode: nothing kept
  }
  function store(storage, key, value) {
    try {
      if (value === null) { storage.removeItem(key); } else { storage.setItem(key, value); }
    } catch (e) { /* fine: this visit only */ }
  }

  function senderId() {
    let id = stored(localStorage, "westbot-sender");
    if (!id) {
      id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/-/g, "");
      store(localStorage, "westbot-sender", id);
    }
    return id;
  }
  const sender = senderId();

  function save() {
    store(sessionStorage, STORE, JSON.stringify(conversation, function (key, value) {
      return key === "item" ? undefined : value;  // the drawn element is remade on reload
    }));
  }

  function showError(text) { status.textContent = text; }

  // ---- elder mode: switched on the page at once, told to the bot when it can be

  function setElder(on) {
    document.body.classList.toggle("elder", on);
    elderSwitch.setAttribute("aria-pressed", on ? "true" : "false");
    elderState.textContent = on ? "已打开" : "已关闭";
    store(localStorage, "westbot-elder", on ? "1" : "0");
  }
  setElder(stored(localStorage, "westbot-elder") === "1");

  function pendingSwitch() { return stored(localStorage, "westbot-elder-pending"); }

  async function tellSwitch() {
    clearTimeout(switchTimer);
    const pending = pendingSwitch();
    if (pending === null || busy) { return; }
    const message = pending === "1" ? "长者模式" : "普通模式";
    const ok = await ask(message, message, { quietFailure: true });
    if (ok) {
      if (pendingSwitch() === pending) { store(localStorage, "westbot-elder-pending", null); }
      tellSwitch();  // switched again meanwhile: say the latest choice too
    } else {
      showError("已在本页换成" + message + "。助手暂时连不上，连上后会自动告诉它。");
      switchTimer = setTimeout(tellSwitch, RETRY_SWITCH_MS);
    }
  }

  // ---- what the conversation looks like

  function appendText(element, text, links) {
    if (!links) { element.textContent = text; return; }
    let last = 0;
    text.replace(PHONE, function (number, _group, offset) {
      element.appendChild(document.createTextNode(text.slice(last, offset)));
      const link = document.createElement("a");
      link.href = "tel:" + number.replace(/-/g, "");
      link.textContent = number;
      element.appendChild(link);
      last = offset + number.length;
      return number;
    });
    element.appendChild(document.createTextNode(text.slice(last)));
  }

  function draw(entry) {
    const item = document.createElement("li");
    item.className = "msg " + entry.who;
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = entry.who === "user" ? "您说：" : "助手：";
    item.appendChild(label);
    const body = document.createElement("span");
    body.className = "text";
    item.appendChild(body);
    const lines = (entry.text || "").split("\n");
    const last = lines[lines.length - 1];
    const bot = entry.who === "bot";
    if (bot && lines.length > 1 && last.indexOf("来源：") === 0) {
      appendText(body, lines.slice(0, -1).join("\n"), true);
      const source = document.createElement("span");
      source.className = "source";
      source.textContent = last;
      item.appendChild(source);
    } else {
      appendText(body, entry.text || "", bot);
    }
    if (entry.buttons && entry.buttons.length) { drawButtons(item, entry); }
    if (entry.voice && voiceAvailable) { drawVoice(item, entry.voice); }
    if (entry.failed) { markFailed(item, entry); }
    log.appendChild(item);
    entry.item = item;
    return item;
  }

  function actionsOf(item) {
    let row = item.querySelector(".actions");
    if (!row) {
      row = document.createElement("div");
      row.className = "actions";
      item.appendChild(row);
    }
    return row;
  }

  function isFeedback(payload) { return payload.indexOf("/feedback_") === 0; }

  function drawButtons(item, entry) {
    const row = actionsOf(item);
    entry.buttons.forEach(function (b) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      if (isFeedback(b.payload)) {
        if (entry.chosen) {
          button.disabled = true;  // 👍/👎 count once
          if (entry.chosen === b.payload) {
            button.classList.add("chosen");
            button.textContent = "✓ " + b.title + "（已选）";
          }
        }
        button.addEventListener("click", function () { chooseFeedback(entry, b); });
      } else {
        button.addEventListener("click", function () { ask(b.payload, b.title); });
      }
      row.appendChild(button);
    });
  }

  async function chooseFeedback(entry, b) {
    if (entry.chosen || busy) { return; }
    const ok = await ask(b.payload, b.title);
    if (!ok) { return; }
    entry.chosen = b.payload;
    save();
    const row = entry.item.querySelector(".actions");
    const focusNext = document.activeElement && row.contains(document.activeElement);
    row.parentNode.removeChild(row);
    drawButtons(entry.item, entry);
    if (entry.voice && voiceAvailable) { drawVoice(entry.item, entry.voice); }
    if (focusNext) { input.focus({ preventScroll: true }); }
  }

  function markFailed(item, entry) {
    item.classList.add("failed");
    const note = document.createElement("span");
    note.className = "failed-note";
    note.textContent = "没有发出去";
    item.appendChild(note);
    const again = document.createElement("button");
    again.type = "button";
    again.textContent = "重新发送";
    again.addEventListener("click", function () { resend(entry); });
    actionsOf(item).appendChild(again);
  }

  // ---- voice: one clip at a time, with pause and stop, and errors that say what really went wrong

  const player = { audio: null, button: null, stop: null, url: null };

  function stopVoice() {
    if (player.audio) { player.audio.pause(); }
    if (player.url) { URL.revokeObjectURL(player.url); }
    if (player.button) { player.button.textContent = "▶ 听语音"; }
    if (player.stop && player.stop.parentNode) { player.stop.parentNode.removeChild(player.stop); }
    player.audio = player.button = player.stop = player.url = null;
  }

  async function playVoice(button, voice) {
    if (player.button === button && player.audio) {
      if (player.audio.paused) {
        player.audio.play();
        button.textContent = "⏸ 暂停";
      } else {
        player.audio.pause();
        button.textContent = "▶ 继续听";
      }
      return;
    }
    stopVoice();
    let response;
    try {
      response = await fetch(voice.url);
    } catch (e) {
      showError("网络连接断开了，语音没能下载。请稍后再按 ▶ 听语音。");
      return;
    }
    if (!response.ok) {
      const data = await response.json().catch(function () { return null; });
      showError((data && data.error) || "语音暂时不可用。");
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const audio = new Audio(url);
    const stop = document.createElement("button");
    stop.type = "button";
    stop.textContent = "■ 停止";
    stop.addEventListener("click", function () { stopVoice(); button.focus(); });
    Object.assign(player, { audio: audio, button: button, stop: stop, url: url });
    audio.addEventListener("ended", stopVoice);
    button.textContent = "⏸ 暂停";
    button.insertAdjacentElement("afterend", stop);
    try {
      await audio.play();
    } catch (e) {
      stopVoice();
      showError(e && e.name === "NotAllowedError"
        ? "浏览器没有允许这个页面播放声音。请再按一次 ▶ 听语音。"
        : "这个浏览器放不了这种语音（OGG 格式）。请换一个浏览器，或看文字。");
    }
  }

  function drawVoice(item, voice) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "voice";
    button.textContent = "▶ 听语音";  // the visible words are the accessible name (WCAG 2.5.3)
    button.addEventListener("click", function () { playVoice(button, voice); });
    actionsOf(item).appendChild(button);
  }

  // ---- asking

  function setBusy(on) {
    busy = on;
    send.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    busyNote.textContent = on ? "正在查找…" : "";
  }

  function entriesFrom(messages) {
    const passage = messages.map(function (m) { return ((m.custom || {}).source || {}).passage_id; })
      .filter(function (p) { return Number.isInteger(p); })[0];
    const entries = [];
    messages.forEach(function (m) {
      const custom = m.custom || {};
      if (m.text) {
        const buttons = (m.buttons || []).map(function (b) {
          const payload = isFeedback(b.payload) && passage !== undefined
            ? b.payload + JSON.stringify({ passage_id: passage }) : b.payload;
          return { title: b.title, payload: payload };
        });
        entries.push({ who: "bot", text: m.text, buttons: buttons });
      }
      if (custom.mode === "elder") { setElder(true); }
      if (custom.mode === "standard") { setElder(false); }
      if (custom.voice && custom.voice.url && entries.length) { entries[entries.length - 1].voice = custom.voice; }
    });
    return entries;
  }

  async function post(message) {
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sender, message: message })
      });
      const data = await response.json().catch(function () { return null; });
      if (!response.ok || !Array.isArray(data)) {
        return { error: (data && data.error) || "系统正在维护，请稍后再试，或拨打12345政务服务热线。" };
      }
      return { messages: data };
    } catch (e) {
      return { error: "网络连接断开了，问题没有发出去。请稍后按“重新发送”。" };
    }
  }

  // After a reply: its first line at the top of the screen, its buttons below it; the question box stays in
  // view (it sticks to the bottom of the screen) and keeps the focus.
  function showReply(first) {
    if (first) { first.scrollIntoView({ block: "start" }); }
  }

  // The page's scroll padding follows the sticky question box's height, so what is scrolled or tabbed to is
  // never left behind the box (style.css, --ask-height).
  function trackAskHeight() {
    const set = function () {
      document.documentElement.style.setProperty("--ask-height", form.offsetHeight + "px");
    };
    set();
    if (window.ResizeObserver) { new ResizeObserver(set).observe(form); }
    window.addEventListener("resize", set);
  }

  async function ask(message, shown, options) {
    options = options || {};
    if (busy) { return false; }
    status.textContent = "";
    setBusy(true);
    let question = options.entry;
    if (!question && !options.quietFailure) {
      question = { who: "user", text: shown || message, payload: message };
      conversation.push(question);
      draw(question).scrollIntoView({ block: "nearest" });
      save();
    }
    const result = await post(message);
    let first = null;
    if (result.messages) {
      if (!question) {  // a quiet request (the elder switch) shows its question only once it went through
        question = { who: "user", text: shown || message, payload: message };
        conversation.push(question);
        draw(question);
      }
      if (question.failed) {
        question.failed = false;
        const old = question.item;
        log.replaceChild(draw(question), old);
      }
      entriesFrom(result.messages).forEach(function (entry) {
        conversation.push(entry);
        const item = draw(entry);
        first = first || item;
      });
      if (!voiceAvailable) { checkVoice(); }
    } else if (question) {
      question.failed = true;
      const old = question.item;
      log.replaceChild(draw(question), old);
      showError(result.error);
    }
    save();
    setBusy(false);
    showReply(first);
    if (pendingSwitch() !== null && !options.quietFailure) {  // the elder switch was pressed meanwhile
      if (result.messages) { tellSwitch(); } else { clearTimeout(switchTimer); switchTimer = setTimeout(tellSwitch, RETRY_SWITCH_MS); }
    }
    return Boolean(result.messages);
  }

  async function resend(entry) {
    const ok = await ask(entry.payload || entry.text, entry.text, { entry: entry });
    if (ok && input.value.trim() === entry.text) { input.value = ""; }
    input.focus({ preventScroll: true });
  }

  async function checkVoice() {
    try {
      const response = await fetch("/api/voice/status");
      const data = await response.json();
      const was = voiceAvailable;
      voiceAvailable = Boolean(data && data.available);
      if (voiceAvailable && !was) {
        conversation.forEach(function (e) { if (e.voice && e.item) { drawVoice(e.item, e.voice); } });
      }
    } catch (e) {
      voiceAvailable = false;  // the server is down: no ▶ that could not play
    }
  }

  // ---- the form

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) { return; }  // one question at a time: a second Enter while waiting sends nothing
    const text = input.value.trim();
    if (!text) { showError("请先输入问题。"); input.focus(); return; }
    const ok = await ask(text);
    if (ok) { input.value = ""; }  // on an error the question stays, so nothing typed is lost
    input.focus({ preventScroll: true });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (!busy) { form.requestSubmit(); }
    }
  });

  input.addEventListener("paste", function (event) {
    const text = (event.clipboardData || window.clipboardData).getData("text");
    const start = input.selectionStart, end = input.selectionEnd;
    const room = LIMIT - (input.value.length - (end - start));
    if (text.length <= room) { return; }
    event.preventDefault();
    const kept = text.slice(0, Math.max(room, 0));
    input.setRangeText(kept, start, end, "end");
    showError("您粘贴了" + text.length + "字，超过了" + LIMIT + "字的上限，后面的" + (text.length - kept.length) +
      "字没有放进来。");
  });

  clearButton.addEventListener("click", function () {
    stopVoice();
    conversation = [];
    store(sessionStorage, STORE, null);
    log.textContent = "";
    showError("");
    busyNote.textContent = "对话已清空。";
    input.focus();
  });

  elderSwitch.addEventListener("click", function () {
    const on = elderSwitch.getAttribute("aria-pressed") !== "true";
    setElder(on);  // at once, on this page, whether or not the server answers
    store(localStorage, "westbot-elder-pending", on ? "1" : "0");
    tellSwitch();
  });

  // ---- start: the conversation of this tab, and whether the server can speak

  (function restore() {
    let saved = [];
    try { saved = JSON.parse(stored(sessionStorage, STORE) || "[]"); } catch (e) { saved = []; }
    conversation = Array.isArray(saved) ? saved.filter(function (e) { return e && e.who && typeof e.text === "string"; }) : [];
    conversation.forEach(draw);
    if (conversation.length) { log.lastChild.scrollIntoView({ block: "end" }); }
  }());
  trackAskHeight();
  checkVoice();
  if (pendingSwitch() !== null) { tellSwitch(); }
}());
