// Countdowns to a response target ([data-due]) and time waited ([data-since]), every second.
function span(seconds) {
  const s = Math.abs(Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}:${rest}`;
}

// Also called by a page that just swapped in fresh clocks, so none shows blank for a second.
export function tick() {
  const now = Date.now();
  document.querySelectorAll("[data-due]").forEach((el) => {
    const left = (Date.parse(el.dataset.due) - now) / 1000;
    el.textContent = left >= 0 ? `${span(left)} left` : `${span(left)} overdue`;
    el.classList.toggle("late", left < 0);
    el.classList.toggle("soon", left >= 0 && left < 60);
  });
  document.querySelectorAll("[data-since]").forEach((el) => {
    const waited = span((now - Date.parse(el.dataset.since)) / 1000);
    el.textContent = "bare" in el.dataset ? waited : `waiting ${waited}`;
  });
}

export function startClocks() {
  tick();
  setInterval(tick, 1000);
}
