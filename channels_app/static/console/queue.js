// The live queue: rows arrive rendered by the server (read through the gate for this person),
// are put in place, and kept sorted by what needs a person first.
import { startClocks } from "./clocks.js";
import { connect, onEvent } from "./live.js";

const body = document.querySelector("#queue tbody");
const empty = document.querySelector("#queue-empty");

function sortKey(row) {
  return JSON.parse(row.dataset.sort || "[9, 9, 0]");
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

function place(row) {
  const holder = document.createElement("tbody");
  holder.innerHTML = row.html.trim();
  const fresh = holder.firstElementChild;
  const old = body.querySelector(`tr[data-conversation="${row.conversation_id}"]`);
  if (old) old.replaceWith(fresh);
  else body.appendChild(fresh);
  fresh.classList.add("flash-in");
  [...body.children].sort(compare).forEach((tr) => body.appendChild(tr));
}

onEvent((message) => {
  const id = message.payload && message.payload.conversation_id;
  if (message.row) place(message.row);
  else if (id && message.event !== "console.ready") {
    const gone = body.querySelector(`tr[data-conversation="${id}"]`);
    if (gone && message.row === null && !message.event.startsWith("viewer.")) gone.remove();
  }
  if (empty) empty.hidden = body.children.length > 0;
});

connect();
startClocks();
