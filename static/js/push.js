// "Notifications on this phone" (a patient's Settings: the daily reminder; a clinician's: the
// red-flag alerts): subscribes this browser to Web Push and tells the server, or the reverse.
// The panel says what "on" brings (data-push-on). It stays hidden without JavaScript or where
// the browser cannot receive push messages.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-push]");
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!panel || !supported) return;
  const toggle = panel.querySelector("[data-push-toggle]");
  const status = panel.querySelector("[data-push-status]");
  const url = panel.dataset.pushUrl;
  const key = base64UrlToBytes(panel.dataset.vapidKey);
  let subscribed = false;

  const show = (on, message) => {
    subscribed = on;
    toggle.textContent = on ? "Turn off notifications on this phone" : "Turn on notifications on this phone";
    status.textContent = message || (on ? panel.dataset.pushOn : "Off on this phone.");
  };
  const pushManager = async () => (await navigator.serviceWorker.ready).pushManager;

  // Saved on the server; a subscription left by another account on this phone is replaced.
  async function save(subscription, retry = true) {
    const response = await send("POST", url, subscription.toJSON());
    if (response.ok) return true;
    if (response.status === 400 && retry) {
      await subscription.unsubscribe();
      return save(await subscribe(), false);
    }
    return false;
  }

  async function subscribe() {
    return (await pushManager()).subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }

  async function turnOn() {
    status.textContent = "Turning on…";
    if ((await Notification.requestPermission()) !== "granted") {
      return show(false, "Notifications are blocked for this site. Allow them in this browser's settings, then try again.");
    }
    const saved = await save((await (await pushManager()).getSubscription()) || (await subscribe()));
    show(saved, saved ? "" : "Could not turn them on. Please try again later.");
  }

  async function turnOff() {
    const subscription = await (await pushManager()).getSubscription();
    if (subscription) {
      await send("DELETE", `${url}?endpoint=${encodeURIComponent(subscription.endpoint)}`);
      await subscription.unsubscribe();
    }
    show(false);
  }

  toggle.addEventListener("click", async () => {
    toggle.disabled = true;
    try {
      await (subscribed ? turnOff() : turnOn());
    } catch (error) {
      show(subscribed, "This browser could not turn notifications on. Please try again later.");
    } finally {
      toggle.disabled = false;
    }
  });

  panel.hidden = false;
  show(false);
  // Already on: tell the server again, in case it dropped this phone after failures.
  pushManager()
    .then((manager) => manager.getSubscription())
    .then(async (subscription) => {
      if (subscription && Notification.permission === "granted") show(await save(subscription, false));
    })
    .catch(() => {});
});

function send(method, url, body) {
  return fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },  // app.js
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function base64UrlToBytes(text) {
  const base64 = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
