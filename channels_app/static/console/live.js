// The console's websocket: one connection per tab, reconnected with backoff; loaded by every
// console page. Also what every page shares: toasts, selects that submit themselves (no inline
// handlers under the CSP), and a sound and desktop notification when a conversation is
// handed to you.
const listeners = new Set();
let socket = null;
let pending = [];
let retry = 500;
const me = Number(document.body.dataset.userId || 0);

function indicator(on) {
  const badge = document.querySelector("[data-live]");
  if (badge) {
    badge.classList.toggle("on", on);
    badge.textContent = on ? "Live" : "Reconnecting…";
  }
}

function open() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/console/`);
  socket.addEventListener("open", () => {
    retry = 500;
    indicator(true);
    pending.forEach((message) => socket.send(JSON.stringify(message)));
    pending = [];
  });
  socket.addEventListener("message", (frame) => {
    const message = JSON.parse(frame.data);
    listeners.forEach((listener) => listener(message));
  });
  socket.addEventListener("close", (closed) => {
    indicator(false);
    if (closed.code === 4401 || closed.code === 4403) return;
    setTimeout(open, retry);
    retry = Math.min(retry * 2, 10000);
  });
}

// One socket per tab, however many scripts ask for it.
export function connect() {
  if (!socket) open();
}

export function onEvent(listener) {
  listeners.add(listener);
}

// Sent now if connected, else once the socket opens (a watch survives a reconnect too).
export function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  else pending.push(message);
}

// Toasts: the server's messages after an action, and live news.
export function toast(text, kind = "info") {
  const box = document.querySelector("#toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = `toast ${kind}`;
  item.setAttribute("role", "status");
  item.textContent = text;
  box.appendChild(item);
  fade(item);
}

function fade(item) {
  setTimeout(() => item.classList.add("gone"), 5000);
  setTimeout(() => item.remove(), 5600);
}

function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.6);
  } catch (error) {
    // No sound where the browser allows none yet (no click on the page so far).
  }
}

function handedToMe(payload) {
  const text = `Conversation #${payload.conversation_id} was handed to you.`;
  toast(text, "assigned");
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    const note = new Notification("Rapport", { body: text, tag: `conversation-${payload.conversation_id}` });
    note.onclick = () => { window.focus(); location.href = `/console/conversations/${payload.conversation_id}/`; };
  }
}

onEvent((message) => {
  const payload = message.payload || {};
  if (message.event === "conversation.assigned" && payload.agent_id === me) handedToMe(payload);
  if (message.event === "agent.presence" && payload.agent_id === me) {
    const select = document.querySelector("select[name=status][data-autosubmit]");
    if (select) select.value = payload.status;
  }
});

document.querySelectorAll("#toasts .toast").forEach(fade);
// Delegated, so parts of a page swapped in live keep working.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) field.form.submit();
});
const notify = document.querySelector("[data-notify]");
if (notify && "Notification" in window && Notification.permission === "default") {
  notify.hidden = false;
  notify.addEventListener("click", async () => {
    await Notification.requestPermission();
    notify.hidden = true;
  });
}
if (document.querySelector("script[data-live-connect]")) connect();
