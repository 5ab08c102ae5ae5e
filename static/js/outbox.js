// The outbox: what the patient saved on this phone, kept in IndexedDB until the server has
// confirmed it. Loaded by the pages and by the service worker (importScripts), so both turn a
// submitted form into the same items. An entry's id is its record's identity ("log:2026-05-01",
// "injection:<uuid>"), so saving the same thing again replaces the entry instead of adding one.
(function (scope) {
  "use strict";

  const DB_NAME = "relief-tracker";
  const STORE = "outbox";
  // The server's limits for one batch, published on every page (base.html); a batch answered
  // 413 is split in two and sent again, so that no entry waits forever behind a large one.
  const limits = {
    items: Number(self.document && document.body.dataset.syncMaxItems) || 500,
    bytes: Number(self.document && document.body.dataset.syncMaxBytes) || 2_500_000,
  };

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  // Runs `work(store)` in one transaction; resolves with what work's last request gave.
  async function transact(mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      let result;
      const request = work(transaction.objectStore(STORE));
      if (request) request.onsuccess = () => { result = request.result; };
      transaction.oncomplete = () => { db.close(); resolve(result); };
      transaction.onerror = transaction.onabort = () => { db.close(); reject(transaction.error); };
    });
  }

  const all = () => transact("readonly", (store) => store.getAll());
  const get = (id) => transact("readonly", (store) => store.get(id));
  const remove = (id) => transact("readwrite", (store) => store.delete(id));
  const clear = () => transact("readwrite", (store) => store.clear());

  // A new entry replaces a waiting one for the same record, but keeps the version the first
  // change was made from: that is still the server's version.
  async function add(entries) {
    for (const entry of entries) {
      const waiting = await get(entry.id);
      if (waiting && waiting.state !== "conflict") entry.base_version = waiting.base_version;
      await transact("readwrite", (store) => store.put(entry));
    }
  }

  // Removes an entry only if it is still the one that was sent, not a newer edit.
  function removeIfSent(sent) {
    return transact("readwrite", (store) => {
      const request = store.get(sent.id);
      request.onsuccess = () => {
        if (request.result && request.result.savedAt === sent.savedAt) store.delete(sent.id);
      };
      return null;
    });
  }

  async function update(id, changes) {
    const entry = await get(id);
    if (entry) await transact("readwrite", (store) => store.put({ ...entry, ...changes }));
  }

  // ---- From a submitted form to outbox entries ----

  function fieldReader(pairs) {
    const values = new Map();
    for (const [name, value] of pairs) {
      if (!values.has(name)) values.set(name, []);
      values.get(name).push(typeof value === "string" ? value : "");
    }
    return {
      one: (name) => (values.get(name) || [""])[0].trim(),
      many: (name) => values.get(name) || [],
      has: (name) => values.has(name),
    };
  }

  const intOrNull = (value) => (value === "" ? null : Number.parseInt(value, 10));
  const orNull = (value) => (value === "" ? null : value);

  function logData(field) {
    return {
      severity: intOrNull(field.one("severity")),
      spasm_frequency: intOrNull(field.one("spasm_frequency")),
      pain: intOrNull(field.one("pain")),
      note: field.one("note"),
    };
  }

  function injectionData(field) {
    const sites = [];
    const count = Number.parseInt(field.one("sites-TOTAL_FORMS") || "0", 10);
    for (let n = 0; n < count; n += 1) {
      const muscle = field.one(`sites-${n}-muscle`);
      const units = field.one(`sites-${n}-units`);
      if (!muscle && !units) continue;
      if (field.has(`sites-${n}-DELETE`)) continue;
      sites.push({ muscle, side: field.one(`sites-${n}-side`), units });
    }
    const data = {
      date: field.one("date"),
      product: field.one("product"),
      sites,
      guidance: field.one("guidance"),
      injector: field.one("injector"),
      notes: field.one("notes"),
    };
    if (field.one("total_units")) data.total_units = field.one("total_units");
    return data;
  }

  function reactionData(field, kind) {
    return {
      kind,
      severity: field.one("severity"),
      onset_date: field.one("onset_date"),
      resolved_date: orNull(field.one("resolved_date")),
      injection: orNull(field.one("injection")),
      pain_reliever: field.one("pain_reliever"),
      pain_reliever_dose: field.one("pain_reliever_dose"),
      note: field.one("note"),
    };
  }

  // One client-made id per ticked reaction, derived from the form's own id so that saving the
  // same form twice gives the same ids.
  function reactionKey(base, index) {
    return base.slice(0, -2) + index.toString(16).padStart(2, "0");
  }

  // `pairs`: the form's [name, value] pairs; `formUrl`: where the form is, to fix it later.
  // The form carries hidden `_outbox_*` fields saying what it saves. Returns [] for a form
  // that cannot be kept offline.
  function entriesFromForm(pairs, formUrl) {
    const field = fieldReader(pairs);
    const type = field.one("_outbox_type");
    const key = field.one("_outbox_key");
    const common = {
      user: field.one("_outbox_user"),
      base_version: intOrNull(field.one("_outbox_version")),
      op: "put",
      state: "pending",
      savedAt: Date.now(),
      formUrl,
      fields: pairs.filter(([, value]) => typeof value === "string"),
    };
    if (type === "log") {
      const data = logData(field);
      return [{ ...common, id: `log:${key}`, type, key, data, label: `Check-in for ${key}: ${data.severity} out of 10` }];
    }
    if (type === "injection") {
      const data = injectionData(field);
      return [{ ...common, id: `injection:${key}`, type, key, data, label: `Injection on ${data.date}` }];
    }
    if (type === "reaction") {
      const data = reactionData(field, field.one("kind"));
      return [{ ...common, id: `reaction:${key}`, type, key, data, label: `Reaction from ${data.onset_date}` }];
    }
    if (type === "reactions") {
      return field.many("kinds").map((kind, index) => {
        const itemKey = reactionKey(key, index);
        const data = reactionData(field, kind);
        return { ...common, id: `reaction:${itemKey}`, type: "reaction", key: itemKey, data, label: `Reaction from ${data.onset_date}` };
      });
    }
    return [];
  }

  // ---- Sending ----

  function batchBody(batch) {
    return JSON.stringify({
      items: batch.map(({ type, op, key, base_version, data }) => ({ type, op, key, base_version, data })),
    });
  }

  // Waits after a send that did not go through: the server's Retry-After when it gives one
  // (503 while its database comes back, 429 over a rate limit), else 1, 2, 4 ... seconds up to
  // a minute, each with jitter so that a thousand phones do not all come back at one instant.
  const MAX_BACKOFF_MS = 60_000;
  const MAX_RETRY_AFTER_MS = 60 * 60_000;
  const RETRY_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

  function retryDelay(response, attempt) {
    const header = response && response.headers.get("Retry-After");
    if (header) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
      if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
    }
    const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempt, 16));
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  // A wait that the network coming back cuts short (a page's "online" event).
  const wakers = new Set();
  if (self.addEventListener) self.addEventListener("online", () => wakers.forEach((wake) => wake()));
  const timing = {
    sleep: (ms) => new Promise((resolve) => {
      const done = () => { clearTimeout(timer); wakers.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    }),
  };

  class RetryLater extends Error {
    constructor(response) {
      super(response ? `sync answered ${response.status}` : "the server could not be reached");
      this.response = response;
    }
  }

  // Sends what waits for `user`, batch after batch, until every entry is confirmed, refused or
  // in conflict: an entry leaves the outbox only once the server confirmed it. An answer that
  // says "later" (503 while the database comes back, 429, another 5xx, an answer cut off) is
  // waited out and the batch sent again, as often as it takes: a batch is safe to send twice.
  // Rejects, leaving the entries where they are, when there is no network (the page sends
  // again when it comes back, and every minute) and on an answer that sending again would not
  // change (logged out: 401, 403).
  async function flush(user, csrfToken, syncUrl) {
    const total = { sent: 0, gone: [], left: 0 };
    let attempt = 0;
    for (;;) {
      let outcome;
      try {
        outcome = await sendBatch(user, csrfToken, syncUrl);
      } catch (error) {
        if (!(error instanceof RetryLater)) throw error;
        await timing.sleep(retryDelay(error.response, attempt));
        attempt += 1;
        continue;
      }
      attempt = 0;
      total.sent += outcome.sent;
      total.gone.push(...outcome.gone);
      total.left = outcome.left;
      if (!outcome.tried || !outcome.left) return total;
    }
  }

  async function sendBatch(user, csrfToken, syncUrl) {
    const waiting = (await all()).filter((e) => e.user === user && e.state === "pending");
    let batch = waiting.slice(0, limits.items);
    if (!batch.length) return { tried: 0, sent: 0, gone: [], left: 0 };
    let body = batchBody(batch);
    while (batch.length > 1 && new Blob([body]).size > limits.bytes * 0.9) {
      batch = batch.slice(0, Math.ceil(batch.length / 2));
      body = batchBody(batch);
    }
    let response;
    try {
      response = await fetch(syncUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body,
      });
    } catch (error) {
      throw new Error("the server could not be reached"); // no network: the page tries again
    }
    if (response.status === 413 && batch.length > 1) {
      limits.items = Math.ceil(batch.length / 2);
      return { tried: batch.length, sent: 0, gone: [], left: waiting.length };
    }
    if (response.status === 413) {
      await update(batch[0].id, { state: "rejected", errors: { entry: ["It is too large to send."] } });
      return { tried: 1, sent: 0, gone: [], left: waiting.length - 1 };
    }
    if (RETRY_STATUSES.has(response.status)) throw new RetryLater(response);
    if (!response.ok) throw new Error(`sync answered ${response.status}`);
    let results;
    try {
      ({ results } = await response.json());
    } catch (error) {
      throw new RetryLater(null); // the answer was cut off: the batch is safe to send again
    }
    let sent = 0;
    const gone = [];
    for (const result of results) {
      const entry = batch[result.index];
      if (result.status === 200 || result.status === 201) {
        await removeIfSent(entry);
        sent += 1;
      } else if (result.status === 410) {
        // Deleted on another device (or here) since this change was made: it stays deleted.
        await removeIfSent(entry);
        gone.push(entry.label);
      } else if (result.status === 409) {
        await update(entry.id, { state: "conflict", current: result.current || null });
      } else {
        await update(entry.id, { state: "rejected", errors: result.errors || {} });
      }
    }
    return { tried: batch.length, sent, gone, left: waiting.length - sent - gone.length };
  }

  scope.ReliefOutbox = { add, all, get, remove, clear, update, flush, entriesFromForm, retryDelay, timing };
})(self);
