// The console's websocket: one connection per tab, reconnected with backoff.
const listeners = new Set();
let socket = null;
let pending = [];
let retry = 500;

function indicator(on) {
  const badge = document.querySelector("[data-live]");
  if (badge) {
    badge.classList.toggle("on", on);
    badge.textContent = on ? "Live" : "Reconnecting…";
  }
}

export function connect() {
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
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  });
}

export function onEvent(listener) {
  listeners.add(listener);
}

// Sent now if connected, else once the socket opens (a watch survives a reconnect too).
export function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  else pending.push(message);
}
