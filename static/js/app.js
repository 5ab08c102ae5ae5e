// Small enhancements only: every page works without this file.
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  revealSiteRowsOneByOne();
  warnOnRedFlags();
  guessTimeZone();
});

// The injection form ships a few blank muscle rows; show them one at a time on request.
function revealSiteRowsOneByOne() {
  const button = document.querySelector("[data-add-site]");
  if (!button) return;
  const hiddenRows = () => document.querySelectorAll(".site-extra");
  button.hidden = hiddenRows().length === 0;
  button.addEventListener("click", () => {
    const next = hiddenRows()[0];
    if (!next) return;
    next.classList.remove("site-extra");
    next.querySelector("select, input")?.focus();
    button.hidden = hiddenRows().length === 0;
  });
}

// Ticking a red flag shows the "get help now" message at once, before the form is sent.
function warnOnRedFlags() {
  const alert = document.querySelector("[data-red-flag-alert]");
  const codesElement = document.getElementById("red-flag-codes");
  if (!alert || !codesElement) return;
  const codes = new Set(JSON.parse(codesElement.textContent));
  const form = alert.parentElement.querySelector("form");
  const update = () => {
    const flagged = [...form.querySelectorAll("input:checked")].some((input) =>
      codes.has(input.value) && (input.name === "kinds" || input.name === "kind"));
    if (flagged && alert.hidden) alert.scrollIntoView({ block: "start" });
    alert.hidden = !flagged;
  };
  form.addEventListener("change", update);
  update();
}

// On the first visit, preselect the phone's own time zone.
function guessTimeZone() {
  const select = document.querySelector("select[name=time_zone][data-guess]");
  if (!select) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if ([...select.options].some((option) => option.value === zone)) select.value = zone;
}

// ---- Offline: the service worker, the outbox and what the patient sees of them ----

const user = document.body.dataset.user || "";
const syncUrl = document.body.dataset.syncUrl;
const outboxPanel = document.querySelector("[data-outbox]");

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

if (user && "serviceWorker" in navigator) {
  forgetAnotherUsersPages().then(() => navigator.serviceWorker.register("/sw.js", { scope: "/" }))
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => registration.active?.postMessage({ type: "warm", role: document.body.dataset.role }))
    .catch(() => {});
}

// Pages cached for someone else who used this phone are never shown to this user.
async function forgetAnotherUsersPages() {
  if (localStorage.getItem("relief-user") === user) return;
  if ("caches" in self) {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("relief-pages")).map((n) => caches.delete(n)));
  }
  localStorage.setItem("relief-user", user);
}

document.addEventListener("DOMContentLoaded", () => {
  if (!user || !self.ReliefOutbox) return;
  keepFormsOffline();
  clearOnLogOut();
  fillFromOutbox();
  const kept = new URLSearchParams(location.search).get("kept");
  if (kept) announce(`Saved on this phone (${kept}). It will be sent when you're back online.`);
  sendOutbox();
  window.addEventListener("online", sendOutbox);
  window.addEventListener("offline", showOutbox);
  setInterval(sendOutbox, 60_000);
});

let sending = null;
let quietSend = false;
// `{ quiet: true }`: the caller says what was sent itself (Today's status line), and the panel
// above the page stays as it is, so nothing moves under the patient's finger.
function sendOutbox(options) {
  if (!navigator.onLine || !syncUrl) return showOutbox();
  showOutbox(); // online again: the line says so at once, not after the send
  if (!sending) quietSend = options?.quiet === true;
  sending ??= ReliefOutbox.flush(user, csrfToken(), syncUrl)
    .then(({ sent, gone = [] }) => {
      const said = [];
      if (sent && !quietSend) said.push(`Sent ${sent} saved ${sent === 1 ? "entry" : "entries"} to the server.`);
      if (gone.length) said.push(`Not sent, as deleted on another device: ${gone.join("; ")}.`);
      if (said.length) announce(said.join(" "));
    })
    .catch(() => {})
    .finally(() => {
      sending = null;
      showOutbox();
      document.dispatchEvent(new CustomEvent("outbox:sent")); // Today's status line follows
    });
  return sending;
}

// With no network, a diary form is kept in the outbox rather than sent.
function keepFormsOffline() {
  document.querySelectorAll("form").forEach((form) => {
    if (!form.querySelector("[name=_outbox_type]")) return;
    form.addEventListener("submit", async (event) => {
      if (navigator.onLine) return;
      event.preventDefault();
      const entries = ReliefOutbox.entriesFromForm([...new FormData(form).entries()], location.pathname);
      await ReliefOutbox.add(entries);
      announce("Saved on this phone. It will be sent when you're back online.");
      window.scrollTo(0, 0);
    });
  });
}

async function clearOnLogOut() {
  const form = document.querySelector("form[data-logout]");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const waiting = (await ReliefOutbox.all()).filter((e) => e.user === user);
    if (waiting.length && !confirm(`${waiting.length} saved ${waiting.length === 1 ? "entry has" : "entries have"} not been sent yet. Log out and delete ${waiting.length === 1 ? "it" : "them"} from this phone?`)) return;
    await ReliefOutbox.clear();
    if ("caches" in self) await Promise.all((await caches.keys()).map((name) => caches.delete(name)));
    await stopPushReminders();
    localStorage.removeItem("relief-user");
    form.submit();
  });
}

// Their reminders (a patient's) or alerts (a clinician's) stop coming to this phone; the server
// forgets the subscription when its next push is refused.
async function stopPushReminders() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    await (await registration?.pushManager?.getSubscription())?.unsubscribe();
  } catch (error) {
    // Logging out matters more.
  }
}

// "#outbox=<id>": a rejected entry opened in its form, to be fixed and saved again.
async function fillFromOutbox() {
  const id = decodeURIComponent(location.hash.replace(/^#outbox=/, ""));
  if (!location.hash.startsWith("#outbox=")) return;
  const entry = await ReliefOutbox.get(id);
  const form = document.querySelector("form:has([name=_outbox_type])");
  if (!entry || !form) return;
  for (const [name, value] of entry.fields) {
    form.querySelectorAll(`[name="${CSS.escape(name)}"]`).forEach((input) => {
      if (input.matches("button[data-tap]")) input.setAttribute("aria-pressed", String(input.value === value));
      else if (input.matches("button")) input.value = value; // More's Save keeps the number
      else if (input.type === "radio" || input.type === "checkbox") input.checked = input.value === value || input.checked;
      else if (input.type !== "hidden" || name.startsWith("_outbox")) input.value = value;
    });
  }
}

function announce(text) {
  const status = document.querySelector("[data-outbox-message]");
  if (status) status.textContent = text;
}

async function showOutbox() {
  if (!outboxPanel || !self.ReliefOutbox) return;
  const entries = (await ReliefOutbox.all()).filter((e) => e.user === user);
  const pending = entries.filter((e) => e.state === "pending");
  const problems = entries.filter((e) => e.state !== "pending");
  const list = outboxPanel.querySelector("[data-outbox-problems]");
  const summary = outboxPanel.querySelector("[data-outbox-summary]");
  summary.textContent = [
    navigator.onLine ? "" : "You're offline. What you save stays on this phone.",
    pending.length ? `${pending.length} saved ${pending.length === 1 ? "entry is" : "entries are"} waiting to be sent.` : "",
  ].filter(Boolean).join(" ");
  list.replaceChildren(...problems.map(problemItem));
  outboxPanel.hidden = !summary.textContent && !problems.length && !outboxPanel.querySelector("[data-outbox-message]").textContent;
}

// A rejected or conflicting entry stays until the patient decides: fix it, keep theirs, or drop it.
function problemItem(entry) {
  const item = document.createElement("li");
  const text = document.createElement("p");
  const actions = document.createElement("div");
  actions.className = "actions";
  if (entry.state === "conflict") {
    const theirs = entry.current ? describe(entry.type, entry.current) : "it was deleted";
    text.textContent = `${entry.label}: changed on another device since (${theirs}).`;
    actions.append(
      button("Keep mine", () => ReliefOutbox.update(entry.id, { state: "pending", base_version: entry.current ? entry.current.version : 0 }).then(sendOutbox)),
      button("Keep the other", () => ReliefOutbox.remove(entry.id).then(showOutbox)),
    );
  } else {
    const reasons = Object.entries(entry.errors || {}).map(([field, errors]) => `${field.replace(/_/g, " ")}: ${[].concat(errors).map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join(" ")}`);
    text.textContent = `${entry.label} was not accepted. ${reasons.join("; ")}`;
    const fix = document.createElement("a");
    fix.className = "button primary";
    fix.href = `${entry.formUrl}#outbox=${encodeURIComponent(entry.id)}`;
    fix.textContent = "Fix it";
    actions.append(fix, button("Delete it", () => ReliefOutbox.remove(entry.id).then(showOutbox)));
  }
  item.append(text, actions);
  return item;
}

function describe(type, record) {
  if (type === "log") return `${record.severity} out of 10`;
  if (type === "injection") return `${record.product}, ${record.total_units} units`;
  return `${record.kind}, ${record.severity}`;
}

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "button";
  element.textContent = label;
  element.addEventListener("click", action);
  return element;
}

// ---- Today: one tap saves the check-in ----
// Tapping a number saves it at once through the outbox (no page load), then offers Undo for
// a few seconds. Without this script each number is a submit button of the same form.
document.addEventListener("DOMContentLoaded", () => {
  rememberFold();
  if (user && self.ReliefOutbox) oneTapCheckIn();
});

// The extra measures stay open, or folded, as the patient last left them.
function rememberFold() {
  const details = document.querySelector("form[data-checkin] details[data-more]");
  if (!details) return;
  details.addEventListener("toggle", () => {
    const body = new URLSearchParams({ more_open: details.open ? "1" : "0" });
    fetch(location.pathname, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
      body,
    }).catch(() => {}); // offline: it is only a preference
  });
}

const SEND_WAIT_MS = 4000;

function oneTapCheckIn() {
  const form = document.querySelector("form[data-checkin]");
  if (!form) return;
  const day = form.dataset.day;
  const entryId = `log:${day}`;
  const seconds = Number(form.dataset.undoSeconds) || 10;
  const versionInput = form.querySelector("[name=_outbox_version]");
  const status = form.querySelector("[data-checkin-status]");
  const said = form.querySelector("[data-checkin-said]");
  const enqueue = (entries) => (ReliefOutbox.enqueue || ReliefOutbox.add)(entries);
  let logged = JSON.parse(document.getElementById("checkin-logged")?.textContent || "null");
  let undoTimer = null;
  let queue = Promise.resolve();

  // An Undo the server drew (after a save with a page load) goes after the same time.
  if (form.querySelector("[data-server-undo]")) {
    undoTimer = setTimeout(() => show(loggedWords(), null), seconds * 1000);
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-tap]");
    if (!button) return;
    // A PGIC answer is saved with the check-in by the form itself, in one page load.
    if (form.querySelector("[name='pgic-score']:checked")) return;
    event.preventDefault();
    const value = Number(button.value);
    queue = queue.then(() => tap(value)).catch(() => {});
  });

  function fieldsFor(values) {
    const pairs = [...new FormData(form).entries()].filter(
      ([name]) => name !== "severity" && name !== "csrfmiddlewaretoken" && !name.startsWith("pgic-"),
    );
    if (values) {
      for (const name of ["spasm_frequency", "pain", "note"]) {
        const index = pairs.findIndex(([field]) => field === name);
        if (index >= 0) pairs.splice(index, 1);
        pairs.push([name, values[name] === null || values[name] === undefined ? "" : String(values[name])]);
      }
    }
    return pairs;
  }

  async function tap(value) {
    const previous = logged;
    const pairs = fieldsFor(null);
    pairs.push(["severity", String(value)]);
    const entries = ReliefOutbox.entriesFromForm(pairs, location.pathname);
    await enqueue(entries);
    const { data } = entries[0];
    logged = { severity: data.severity, spasm_frequency: data.spasm_frequency, pain: data.pain, note: data.note };
    press(value);
    const sent = await send();
    if (!sent) announce("Saved on this phone. It will be sent when you're back online.");
    show(savedWords(value, sent), () => undo(previous));
  }

  async function undo(previous) {
    clearTimeout(undoTimer);
    let entry;
    if (previous) {
      const pairs = fieldsFor(previous);
      pairs.push(["severity", String(previous.severity)]);
      [entry] = ReliefOutbox.entriesFromForm(pairs, location.pathname);
    } else {
      entry = {
        id: entryId, type: "log", key: day, op: "delete", data: {},
        base_version: Number(versionInput.value) || null, user, state: "pending",
        savedAt: Date.now(), formUrl: location.pathname, fields: [],
        label: `Check-in for ${day}: taken back`,
      };
    }
    await enqueue([entry]);
    logged = previous;
    press(previous ? previous.severity : null);
    const sent = await send(Boolean(previous));
    const now = previous ? `back to ${previous.severity} out of 10` : "this day is not logged";
    show(`Undone: ${now}.${sent ? "" : " It will be sent when you're back online."}`, null);
  }

  // Sends the outbox, waiting a few seconds at most (a send may wait out a bad network for
  // long); true once this day's entry has left it, that is the server has it.
  async function send(refresh = true) {
    const wait = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
    await Promise.race([sendOutbox({ quiet: true }), wait(SEND_WAIT_MS)]);
    // A send already under way (the minute's retry) may have started before this entry.
    if (navigator.onLine && !sending && (await ReliefOutbox.get(entryId))?.state === "pending") {
      await Promise.race([sendOutbox({ quiet: true }), wait(SEND_WAIT_MS)]);
    }
    if (await ReliefOutbox.get(entryId)) return false;
    if (refresh && logged) await refreshVersion();
    return true;
  }

  // The version the next change starts from; after a deletion it stays the deleted one's.
  async function refreshVersion() {
    try {
      const response = await fetch(form.dataset.logUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) versionInput.value = String((await response.json()).version);
    } catch (error) {
      // The next sync sorts it out.
    }
  }

  // Sent later (back online, or after the network's hiccup): the line says so.
  document.addEventListener("outbox:sent", async () => {
    if (!said.textContent.startsWith("Saved on this phone") || (await ReliefOutbox.get(entryId))) return;
    if (logged) await refreshVersion();
    if (status.querySelector("[data-undo]") && logged) said.firstChild.textContent = savedWords(logged.severity, true);
    else said.textContent = loggedWords();
  });

  function press(value) {
    form.querySelectorAll("button[data-tap]").forEach((button) => {
      button.setAttribute("aria-pressed", String(value !== null && Number(button.value) === value));
    });
    form.querySelectorAll("details[data-more] button[name=severity], .pgic button[name=severity]").forEach((button) => {
      button.value = value === null ? "" : String(value);
    });
  }

  function loggedWords() {
    if (logged) return `✓ Logged: ${logged.severity} out of 10.`;
    return form.dataset.isToday === "true" ? "Not logged yet." : "Not logged.";
  }

  function savedWords(value, sent) {
    return sent ? `Saved: ${value}` : `Saved on this phone: ${value}`;
  }

  // The status line: what is saved, with "change" and Undo for a few seconds after a tap.
  function show(text, onUndo) {
    clearTimeout(undoTimer);
    status.querySelector("[data-server-undo]")?.remove();
    status.querySelector("[data-undo]")?.remove();
    said.textContent = text;
    status.classList.toggle("status-done", Boolean(logged));
    status.classList.toggle("status-todo", !logged);
    if (!onUndo) return;
    said.append(" — ");
    const change = document.createElement("a");
    change.href = "#checkin-scale";
    change.textContent = "change";
    change.dataset.change = "";
    said.append(change);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button undo";
    button.dataset.undo = "";
    button.textContent = "Undo";
    button.addEventListener("click", () => {
      button.disabled = true;
      queue = queue.then(onUndo).catch(() => {});
    });
    status.append(button);
    undoTimer = setTimeout(() => show(loggedWords(), null), seconds * 1000);
  }

  // "change": back to the scale, the chosen number focused.
  form.addEventListener("click", (event) => {
    if (!event.target.closest("[data-change]")) return;
    event.preventDefault();
    const chosen = form.querySelector("button[data-tap][aria-pressed=true]") || form.querySelector("button[data-tap]");
    chosen.focus();
  });
}

// Reminder settings: how to remind (email, this phone) only once there is a time to remind at.
document.addEventListener("DOMContentLoaded", () => {
  const time = document.querySelector("select[name=reminder_time]");
  const channels = document.querySelector("[data-reminder-channels]");
  if (!time || !channels) return;
  const follow = () => {
    channels.disabled = !time.value;
    channels.querySelector("[data-channels-off]").hidden = Boolean(time.value);
  };
  time.addEventListener("change", follow);
  follow();
});
