// The live queue: rows arrive rendered by the server (read through the gate for this person),
// are put in place if they belong to the view and page shown, and kept sorted by what needs a
// person first. Counts, figures, alerts and the roster are re-read (one request, debounced).
import { startClocks, tick } from "./clocks.js";
import { connect, onEvent } from "./live.js";

const body = document.querySelector("#queue tbody");
const empty = document.querySelector("#queue-empty");
const filters = document.querySelector("#filters");
const shown = filters ? filters.dataset : {};
const PANELS = ["#figures", "#tabs", "#pager", "#alerts", "#roster"];
let refreshing = null;

function sortKey(row) {
  return JSON.parse(row.dataset.sort || "[9, 9, null, 9]");
}

function compare(a, b) {
  const [x, y] = [sortKey(a), sortKey(b)];
  for (let i = 0; i < x.length; i += 1) {
    const left = x[i] === null ? Infinity : x[i];
    const right = y[i] === null ? Infinity : y[i];
    if (left !== right) return left < right ? -1 : 1;
  }
  return 0;
}

// Whether a row belongs in the view and filters on screen (the server said who may see it).
function belongs(row) {
  const view = shown.view || "open";
  if (view === "snoozed" || view === "resolved") {
    if (row.work_state !== view) return false;
  } else {
    if (row.work_state !== "open") return false;
    if (view !== "open" && row.mode !== view) return false;
  }
  if (shown.channel && row.channel !== shown.channel) return false;
  if (shown.breaching && !row.breaching) return false;
  if (shown.assignee === "me" && row.assigned_to_id !== Number(shown.me)) return false;
  if (shown.assignee === "none" && row.assigned_to_id !== null) return false;
  if (/^\d+$/.test(shown.assignee || "") && row.assigned_to_id !== Number(shown.assignee)) return false;
  return true;
}

function place(row) {
  const old = body.querySelector(`tr[data-conversation="${row.conversation_id}"]`);
  if (!belongs(row)) {
    if (old) old.remove();
    return;
  }
  // A search, or a page past the first, only updates the rows it shows.
  if (!old && (shown.search || Number(shown.page || 1) > 1)) return;
  const holder = document.createElement("tbody");
  holder.innerHTML = row.html.trim();
  const fresh = holder.firstElementChild;
  if (old) old.replaceWith(fresh);
  else body.appendChild(fresh);
  fresh.classList.add("flash-in");
  [...body.children].sort(compare).forEach((tr) => body.appendChild(tr));
}

function refreshPanels() {
  clearTimeout(refreshing);
  refreshing = setTimeout(async () => {
    const query = new URLSearchParams(location.search);
    query.set("panels", "1");
    const response = await fetch(`${location.pathname}?${query}`, {
      headers: { "X-Requested-With": "fetch" },
    });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    PANELS.forEach((selector) => {
      const now = document.querySelector(selector);
      const next = fresh.querySelector(selector);
      if (now && next) now.replaceWith(next);
    });
    tick();
  }, 800);
}

onEvent((message) => {
  const id = message.payload && message.payload.conversation_id;
  if (message.event === "console.ready") return;
  if (message.row) place(message.row);
  else if (id && message.row === null && !message.event.startsWith("viewer.")) {
    const gone = body.querySelector(`tr[data-conversation="${id}"]`);
    if (gone) gone.remove();
  }
  if (!message.event.startsWith("viewer.")) refreshPanels();
  if (empty) empty.hidden = body.children.length > 0;
});

connect();
startClocks();
