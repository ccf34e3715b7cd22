// The conversation page: live refresh of the timeline, context and trace; who else is here;
// and a warning when someone else starts replying too.
import { startClocks } from "./clocks.js";
import { connect, onEvent, send } from "./live.js";

const page = document.querySelector("[data-conversation-page]");
const conversationId = Number(page.dataset.conversationPage);
const viewers = new Map();
const composers = new Map();
const REGIONS = ["#status", "#timeline", "#context", "#draft", "#alerts", "#work"];
let refreshing = null;

function showViewers() {
  const box = document.querySelector("#viewers");
  const names = [...new Set(viewers.values())];
  box.innerHTML = names.length
    ? `Also viewing: ${names.map((n) => `<b>${n.replace(/</g, "&lt;")}</b>`).join(", ")}`
    : "Nobody else is viewing";
  const warn = document.querySelector("#collision");
  const typing = [...new Set(composers.values())];
  warn.hidden = typing.length === 0;
  warn.textContent = typing.length
    ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} replying to this customer too.`
    : "";
}

// Re-read the page (one audited read) and swap the parts that changed; the composer stays.
function refresh() {
  clearTimeout(refreshing);
  refreshing = setTimeout(async () => {
    const response = await fetch(location.href, { headers: { "X-Requested-With": "fetch" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    REGIONS.forEach((selector) => {
      const now = document.querySelector(selector);
      const next = fresh.querySelector(selector);
      if (now && next) now.replaceWith(next);
    });
    const timeline = document.querySelector("#timeline");
    if (timeline) timeline.scrollTop = timeline.scrollHeight;
  }, 150);
}

onEvent((message) => {
  const payload = message.payload || {};
  if (message.event === "console.ready") send({ action: "watch", conversation_id: conversationId });
  if (payload.conversation_id !== conversationId) return;
  switch (message.event) {
    case "viewer.joined":
    case "viewer.here":
      viewers.set(payload.channel, payload.user);
      break;
    case "viewer.left":
      viewers.delete(payload.channel);
      composers.delete(payload.channel);
      break;
    case "viewer.composing":
      composers.set(payload.channel, payload.user);
      setTimeout(() => { composers.delete(payload.channel); showViewers(); }, 15000);
      break;
    default:
      refresh();
  }
  showViewers();
});

// A canned response goes into the reply box, to be adjusted before sending.
document.addEventListener("change", (event) => {
  const picker = event.target;
  if (!picker.matches || !picker.matches("[data-canned]")) return;
  const chosen = picker.selectedOptions[0];
  const box = document.querySelector("#reply-text");
  if (chosen && chosen.dataset.body && box) {
    box.value = box.value.trim() ? `${box.value.trim()}\n${chosen.dataset.body}` : chosen.dataset.body;
    box.focus();
  }
  picker.value = "";
});

const composer = document.querySelector("#reply-text");
let lastSaid = 0;
if (composer) {
  composer.addEventListener("input", () => {
    if (Date.now() - lastSaid > 4000) {
      lastSaid = Date.now();
      send({ action: "composing", conversation_id: conversationId });
    }
  });
}

const timeline = document.querySelector("#timeline");
if (timeline) timeline.scrollTop = timeline.scrollHeight;
connect();
startClocks();
showViewers();
