// The chat page: sends questions to /api/chat (which relays to Rasa) and shows the answers accessibly.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const elderSwitch = document.getElementById("elder-switch");
  const elderState = document.getElementById("elder-state");

  function senderId() {
    let id = null;
    try { id = localStorage.getItem("westbot-sender"); } catch (e) { /* private mode */ }
    if (!id) {
      id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/-/g, "");
      try { localStorage.setItem("westbot-sender", id); } catch (e) { /* fine: one visit */ }
    }
    return id;
  }
  const sender = senderId();

  function setElder(on) {
    document.body.classList.toggle("elder", on);
    elderSwitch.setAttribute("aria-pressed", on ? "true" : "false");
    elderState.textContent = on ? "已打开" : "已关闭";
    try { localStorage.setItem("westbot-elder", on ? "1" : "0"); } catch (e) { /* fine */ }
  }
  try { setElder(localStorage.getItem("westbot-elder") === "1"); } catch (e) { setElder(false); }

  function addMessage(who, text) {
    const item = document.createElement("li");
    item.className = "msg " + who;
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who === "user" ? "您说：" : "助手：";
    item.appendChild(label);
    const body = document.createElement("span");
    body.className = "text";
    item.appendChild(body);
    const lines = (text || "").split("\n");
    const last = lines[lines.length - 1];
    if (who === "bot" && lines.length > 1 && last.indexOf("来源：") === 0) {
      body.textContent = lines.slice(0, -1).join("\n");
      const source = document.createElement("span");
      source.className = "source";
      source.textContent = last;
      item.appendChild(source);
    } else {
      body.textContent = text;
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
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

  function addButtons(item, buttons) {
    const row = actionsOf(item);
    buttons.forEach(function (b) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", function () { ask(b.payload, b.title); });
      row.appendChild(button);
    });
  }

  function addVoice(item, voice) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "▶ 听语音";  // the visible words are the accessible name (WCAG 2.5.3)
    button.addEventListener("click", function () {
      const audio = new Audio(voice.url);
      audio.play().catch(function () { showError("语音播放不了，请检查设备的声音。"); });
    });
    actionsOf(item).appendChild(button);
  }

  function render(messages) {
    let last = null;
    messages.forEach(function (m) {
      if (m.text) {
        last = addMessage("bot", m.text);
        if (m.buttons && m.buttons.length) { addButtons(last, m.buttons); }
      }
      const custom = m.custom || {};
      if (custom.mode === "elder") { setElder(true); }
      if (custom.mode === "standard") { setElder(false); }
      if (custom.voice && custom.voice.url && last) { addVoice(last, custom.voice); }
    });
  }

  function showError(text) { status.textContent = text; }

  async function ask(message, shown) {
    status.textContent = "";
    addMessage("user", shown || message);
    send.disabled = true;
    let ok = false;
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sender, message: message })
      });
      const data = await response.json().catch(function () { return null; });
      if (!response.ok || !Array.isArray(data)) {
        showError((data && data.error) || "系统正在维护，请稍后再试，或拨打12345政务服务热线。");
      } else {
        render(data);
        ok = true;
      }
    } catch (e) {
      showError("网络连接断开了。您的问题还在输入框里，请稍后再按发送。");
    } finally {
      send.disabled = false;
    }
    return ok;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) { showError("请先输入问题。"); input.focus(); return; }
    const ok = await ask(text);
    if (ok) { input.value = ""; }  // on an error the question stays, so nothing typed is lost
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  elderSwitch.addEventListener("click", function () {
    const on = elderSwitch.getAttribute("aria-pressed") !== "true";
    ask(on ? "长者模式" : "普通模式");
  });
}());
