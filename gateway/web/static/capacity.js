// The capacity page, live: follows the BFF's NDJSON relays of WatchCapacity and WatchAlerts
// (the session cookie goes with each request; no token is ever in the page). The server
// rendered the page; a capacity change updates its row, its meter, its status and the sums in
// place, and the alert list is redrawn from the alert watch. After a dropped watch a banner
// says the data may be stale, and the watch resumes from the last position it received.
"use strict";

const RETRY_MS = 2000;
const live = JSON.parse(document.getElementById("capacity-live").textContent);
const T = live.texts;
const STATUS = { CAPACITY_STATUS_NORMAL: "normal", CAPACITY_STATUS_STRAINED: "strained", CAPACITY_STATUS_FULL: "full" };
const SEVERITY = { ALERT_SEVERITY_INFO: "info", ALERT_SEVERITY_WARNING: "warning", ALERT_SEVERITY_CRITICAL: "critical" };
const OSLO = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Oslo", year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
  hourCycle: "h23",
});
// Refusals that a retry would only repeat (an error line of a relay carries its gRPC code).
const FINAL_CODES = new Set(["INVALID_ARGUMENT", "PERMISSION_DENIED", "UNAUTHENTICATED", "NOT_FOUND",
  "FAILED_PRECONDITION", "UNIMPLEMENTED"]);
const alerts = new Map();
let lastUpdate = new Date();
let dropped = false;

function text(key, params = {}) {
  return (T[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function osloTime(date) {
  const parts = Object.fromEntries(OSLO.formatToParts(date).map((p) => [p.type, p.value]));
  return text("live.date", {
    day: Number(parts.day), month: T[`month.${Number(parts.month)}`], year: parts.year,
    hour: parts.hour, minute: parts.minute,
  });
}

function orgName(orgnr) {
  return live.organisations[orgnr] ?? orgnr;
}

function resourceLabel(type) {
  return T[`resource.${type}`] ?? type.replaceAll("_", " ");
}

function showStatus() {
  document.getElementById("live-status").textContent = text("live.updated", { time: osloTime(lastUpdate) });
}

function banner(message) {
  const element = document.getElementById("live-banner");
  element.textContent = message ?? "";
  element.hidden = !message;
}

function received() {
  lastUpdate = new Date();
  if (dropped) {
    dropped = false;
    banner(null);
  }
  showStatus();
}

// Reads one NDJSON stream, calling onMessage per message; resolves with why it ended.
async function readStream(url, onMessage, signal) {
  const response = await fetch(url, { credentials: "same-origin", redirect: "error", signal });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    return { status: response.status, reason: body.error?.reason ?? "" };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { status: 0, reason: "ENDED" };
    buffered += value;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line);
      if (message.error) return { status: 0, reason: message.error.reason, code: message.error.code };
      onMessage(message);
    }
  }
}

// Follows one watch, resuming from the last position after every drop, until it is refused.
async function watch(path, params, start, onMessage) {
  let position = start;
  for (;;) {
    const query = new URLSearchParams(params);
    query.set("resume_after", position);
    let ended;
    try {
      ended = await readStream(`${path}?${query}`, (message) => {
        position = message.position ?? position;
        onMessage(message);
        received();
      });
    } catch (error) {
      ended = { status: 0, reason: "NETWORK" };
    }
    if (ended.reason === "WEB_SESSION_ENDED" || ended.status === 401) return banner(text("live.ended"));
    if ((ended.status >= 400 && ended.status < 500) || FINAL_CODES.has(ended.code)) {
      return banner(text("live.refused", { reason: ended.reason }));
    }
    dropped = true;
    banner(text("live.stale", { time: osloTime(lastUpdate) }));
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

function setMeter(meter, occupied, total, name) {
  meter.max = total > 0 ? total : 1;
  meter.low = total * 0.75;  // above three quarters in use the bar turns amber, above 90 % red
  meter.high = total * 0.9;
  meter.value = occupied;
  meter.textContent = `${occupied} / ${total}`;
  meter.setAttribute("aria-label", text("meter_label", { name, occupied, total }));
}

function updateTotals(type) {
  const card = document.querySelector(`#totals li[data-resource="${CSS.escape(type)}"]`);
  if (!card) return;
  const sum = { available: 0, occupied: 0, total: 0, units: 0 };
  for (const row of document.querySelectorAll(`#units tr[data-resource="${CSS.escape(type)}"]`)) {
    for (const key of ["available", "occupied", "total"]) sum[key] += Number(row.dataset[key] ?? 0);
    sum.units += 1;
  }
  card.querySelector(".total-numbers").textContent = text("totals.line", sum);
  setMeter(card.querySelector("meter"), sum.occupied, sum.total, resourceLabel(type));
}

function applyResource(unitId, resource) {
  const type = resource.resourceType;
  const row = document.querySelector(`#units tr[data-unit="${CSS.escape(unitId)}"][data-resource="${CSS.escape(type)}"]`);
  if (!row) {
    banner(text("live.new_unit"));
    return;
  }
  const available = resource.available ?? 0;
  const occupied = resource.occupied ?? 0;
  const total = resource.total ?? 0;
  Object.assign(row.dataset, { available, occupied, total });
  row.querySelector(".available").textContent = available;
  const unitName = row.querySelector("th").firstChild.textContent;
  setMeter(row.querySelector("meter"), occupied, total, `${unitName}, ${resourceLabel(type)}`);
  row.querySelector(".meter-text").textContent = text("occupied_of", { occupied, total });
  const status = STATUS[resource.status] ?? "unknown";
  const badge = row.querySelector(".status-badge");
  badge.className = `status-badge status-${status}`;
  badge.dataset.status = status;
  badge.textContent = text(`status.${status}`);
  const reported = row.querySelector(".reported");
  reported.replaceChildren();
  if (resource.reportTime) reported.append(osloTime(new Date(resource.reportTime)));
  if (resource.note) {
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = resource.note;
    reported.append(note);
  }
  updateTotals(type);
}

function onCapacity(message) {
  if (message.snapshot) {
    for (const unit of message.snapshot.units ?? []) {
      for (const resource of unit.resources ?? []) applyResource(unit.unitId, resource);
    }
  } else if (message.change) {
    applyResource(message.change.unitId, message.change.resource);
  }
}

function paragraph(className, content) {
  const p = document.createElement("p");
  p.className = className;
  p.append(...content);
  return p;
}

function renderAlerts() {
  const list = document.getElementById("alerts");
  const now = Date.now();
  const open = [...alerts.values()].filter((a) => new Date(a.expireTime).getTime() > now);
  open.sort((a, b) => (b.raiseTime ?? "").localeCompare(a.raiseTime ?? ""));
  list.replaceChildren(...open.map((alert) => {
    const severity = SEVERITY[alert.severity] ?? "info";
    const item = document.createElement("li");
    item.className = `alert-item severity-${severity}`;
    item.dataset.alert = alert.alertId;
    const badge = document.createElement("span");
    badge.className = `severity-badge severity-${severity}`;
    badge.textContent = text(`severity.${severity}`);
    const message = document.createElement("span");
    message.className = "alert-message";
    message.textContent = alert.message;
    const nobody = text("alerts.nobody");
    const acknowledged = (alert.acknowledgements ?? []).map((a) => orgName(a.orgnr)).join(", ") || nobody;
    const pending = (alert.pendingOrgnrs ?? []).map(orgName).join(", ") || nobody;
    item.append(
      paragraph("alert-heading", [badge, " ", message]),
      paragraph("alert-details", [text("alerts.from", {
        sender: orgName(alert.senderOrgnr), raised: osloTime(new Date(alert.raiseTime)),
        expires: osloTime(new Date(alert.expireTime)),
      })]),
      paragraph("alert-details", [
        `${text("alerts.acknowledged", { names: acknowledged })} ${text("alerts.pending", { names: pending })}`,
      ]),
    );
    return item;
  }));
  document.getElementById("no-alerts").hidden = open.length > 0;
}

function onAlert(message) {
  if (message.snapshot) {
    alerts.clear();
    for (const alert of message.snapshot.alerts ?? []) alerts.set(alert.alertId, alert);
    renderAlerts();
  } else if (message.alertEvent) {
    const alert = message.alertEvent.alert;
    alerts.set(alert.alertId, alert);
    renderAlerts();
  }
}

// The region list sends its form at once (the "Oppdater" button stays for keyboards and
// for pages without script).
document.getElementById("region").addEventListener("change", (event) => event.target.form.requestSubmit());
setInterval(() => { if (alerts.size) renderAlerts(); }, 30000);  // expired alerts leave the list
watch(live.capacityStream, live.region ? { region: live.region } : {}, live.position, onCapacity);
watch(live.alertsStream, {}, "0", onAlert);
