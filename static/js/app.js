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
    .then((registration) => registration.active?.postMessage({ type: "warm" }))
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
function sendOutbox() {
  if (!navigator.onLine || !syncUrl) return showOutbox();
  sending ??= ReliefOutbox.flush(user, csrfToken(), syncUrl)
    .then(({ sent, gone = [] }) => {
      const said = [];
      if (sent) said.push(`Sent ${sent} saved ${sent === 1 ? "entry" : "entries"} to the server.`);
      if (gone.length) said.push(`Not sent, as deleted on another device: ${gone.join("; ")}.`);
      if (said.length) announce(said.join(" "));
    })
    .catch(() => {})
    .finally(() => { sending = null; showOutbox(); });
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

// This patient's reminders stop coming to this phone; the server forgets the subscription
// when its next push is refused.
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
      if (input.type === "radio" || input.type === "checkbox") input.checked = input.value === value || input.checked;
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
