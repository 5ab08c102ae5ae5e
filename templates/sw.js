// Relief Tracker's service worker: pages the patient viewed open offline, and a form sent
// while the network is gone is kept in the outbox instead of being lost.
"use strict";
importScripts("{{ outbox }}");

const CONFIG = {{ config|safe }};
const STATIC_CACHE = `relief-static-${CONFIG.version}`;
const PAGE_CACHE = `relief-pages-${CONFIG.version}`;
const NEVER_CACHED = ["/accounts/", "/admin/", "/api/", "/sw.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE).then((cache) => cache.addAll(CONFIG.assets)).then(() => self.skipWaiting()),
  );
});

// A new deploy brings a new version: the old caches go, with their outdated pages.
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name !== STATIC_CACHE && name !== PAGE_CACHE).map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "warm") event.waitUntil(warmPages(event.data.role));
  if (event.data?.type === "clear") event.waitUntil(caches.delete(PAGE_CACHE));
});

// Keeps the pages this role needs offline fresh (a clinician: none of a patient's); a page
// that redirects (logged out) is not kept.
async function warmPages(role) {
  const pages = CONFIG.pages[role] || [CONFIG.offline];
  const cache = await caches.open(PAGE_CACHE);
  await Promise.all(pages.map(async (url) => {
    try {
      // Marked, so that the page leaves its one-off messages for the page the person opens.
      const response = await fetch(url, { credentials: "same-origin", headers: { "X-Relief-Warm": "1" } });
      if (isKeepable(response)) await cache.put(url, response);
    } catch (error) {
      // Offline: keep what is cached.
    }
  }));
}

// Never kept: the landing page (what a signed-out visitor sees) and the clinic's pages.
function isKeptPath(path) {
  return !CONFIG.neverPages.includes(path) && !CONFIG.neverPrefixes.some((prefix) => path.startsWith(prefix));
}

function isKeepable(response) {
  return isKeptPath(new URL(response.url).pathname) && response.ok && !response.redirected && (response.headers.get("Content-Type") || "").startsWith("text/html");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && request.mode === "navigate") {
    event.respondWith(sendOrKeep(request));
  } else if (request.method !== "GET" || NEVER_CACHED.some((prefix) => url.pathname.startsWith(prefix))) {
    return;
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  }
});

async function cacheFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) (await caches.open(STATIC_CACHE)).put(request, response.clone());
  return response;
}

// The page cache is opened only to keep a page: opening it creates it, and a page visited
// after log-out must not bring back the cache the log-out deleted.
async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (isKeepable(response)) await (await caches.open(PAGE_CACHE)).put(request, response.clone());
    return response;
  } catch (error) {
    const cached = { cacheName: PAGE_CACHE };
    return (await caches.match(request, cached))
      || (await caches.match(request, { ...cached, ignoreSearch: true }))
      || (await caches.match(CONFIG.offline, cached))
      || Response.error();
  }
}

// A form sent with no network: what it saves goes into the outbox, and the page opens again
// from the cache, saying so.
async function sendOrKeep(request) {
  const copy = request.clone();
  try {
    return await fetch(request);
  } catch (error) {
    const form = await copy.formData();
    const path = new URL(request.url).pathname;
    const entries = ReliefOutbox.entriesFromForm([...form.entries()], path);
    if (!entries.length) return Response.error();
    await ReliefOutbox.add(entries);
    return Response.redirect(`${path}?kept=${entries.length}`, 303);
  }
}

// A patient's daily check-in reminder (tracker/notify.py) or a clinician's red-flag alert
// (tracker/alerts.py): shown as a notification; a tap opens its page (Today, the clinic's
// list), in the app's window when one is open. A new message replaces the one of its kind
// still shown, and sounds again (renotify): a second red flag must not arrive silently.
self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    // Not JSON: show the plain reminder.
  }
  event.waitUntil(self.registration.showNotification(message.title || "Relief Tracker", {
    body: message.body || "How are your spasms today? One tap logs it.",
    icon: CONFIG.icon,
    tag: message.tag || "check-in",
    renotify: true,
    data: { url: message.url || CONFIG.today },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || CONFIG.today, self.location.origin);
  const url = target.origin === self.location.origin ? target.href : CONFIG.today;
  event.waitUntil(openOrFocus(url));
});

async function openOrFocus(url) {
  const [open] = await self.clients.matchAll({ type: "window" });
  if (!open) return self.clients.openWindow(url);
  await open.focus();
  return open.navigate(url);
}
