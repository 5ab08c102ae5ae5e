// Read a day off the Relief timeline: a tap, a click or the arrow keys show the nearest day's
// date, score, note and events. The chart and its table say everything without this file.
document.addEventListener("DOMContentLoaded", () => {
  const svg = document.querySelector("[data-timeline]");
  const readout = document.getElementById("timeline-readout");
  const source = document.getElementById("timeline-data");
  if (!svg || !readout || !source) return;
  const data = JSON.parse(source.textContent);
  const days = data.days; // [days since start, score or null, note, events], oldest first
  if (!days.length) return;

  const cursor = svg.querySelector("[data-cursor]");
  const line = cursor.querySelector("line");
  const dot = cursor.querySelector("circle");
  const start = Date.parse(data.start + "T00:00:00Z");
  const dateFormat = new Intl.DateTimeFormat("en-GB", {
    weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
  });
  // "Wed 7 Oct 2026", as the page writes dates.
  const formatDate = (day) => {
    const part = Object.fromEntries(dateFormat.formatToParts(day).map((p) => [p.type, p.value]));
    return `${part.weekday} ${part.day} ${part.month} ${part.year}`;
  };
  let chosen = null;

  svg.setAttribute("tabindex", "0");
  readout.hidden = false;
  readout.textContent = "Tap the chart, or use the arrow keys on it, to read a day.";

  function show(index) {
    chosen = Math.max(0, Math.min(days.length - 1, index));
    const [offset, score, note, events] = days[chosen];
    const x = String(data.x0 + offset * data.step);
    line.setAttribute("x1", x);
    line.setAttribute("x2", x);
    dot.setAttribute("cx", x);
    dot.setAttribute("cy", String(data.y0 - (score ?? 0) * data.yStep));
    dot.setAttribute("visibility", score === null ? "hidden" : "inherit");
    cursor.setAttribute("visibility", "visible");
    const parts = [formatDate(new Date(start + offset * 86400000)) + ":"];
    parts.push(score === null ? "no score." : `score ${score} out of 10.`);
    if (events) parts.push(events + ".");
    if (note) parts.push(`Note: ${note}`);
    readout.textContent = parts.join(" ");
  }

  function nearest(offset) {
    let best = 0;
    days.forEach((day, index) => {
      if (Math.abs(day[0] - offset) < Math.abs(days[best][0] - offset)) best = index;
    });
    return best;
  }

  svg.addEventListener("click", (event) => {
    const box = svg.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * data.width;
    show(nearest((x - data.x0) / data.step));
  });

  const moves = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 };
  svg.addEventListener("keydown", (event) => {
    let index;
    if (event.key in moves) index = chosen === null ? days.length - 1 : chosen + moves[event.key];
    else if (event.key === "Home") index = 0;
    else if (event.key === "End") index = days.length - 1;
    else return;
    event.preventDefault();
    show(index);
  });
  svg.addEventListener("focus", () => {
    if (chosen === null) show(days.length - 1);
  });
});
