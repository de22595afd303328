// The live capacity page: reads the capacity and alert streams of the JSON API (NDJSON over
// fetch, so the token goes in a header, never in a URL) and updates the tables in place. After
// a dropped connection it resumes from the last position it received, so nothing is missed or
// shown twice; when the token expires it asks for a new one.
"use strict";

const TOKEN_KEY = "samhandling.capacity.token";
const RETRY_MS = 2000;
const OSLO = new Intl.DateTimeFormat("nb-NO", { timeZone: "Europe/Oslo", dateStyle: "short", timeStyle: "short" });
const UNIT_TYPES = {
  UNIT_TYPE_LEGEVAKT: "Legevakt", UNIT_TYPE_KAD: "KAD", UNIT_TYPE_NURSING_HOME_SHORT_TERM: "Korttid sykehjem",
  UNIT_TYPE_EMERGENCY_DEPARTMENT: "Akuttmottak", UNIT_TYPE_HOSPITAL_WARD: "Sengepost", UNIT_TYPE_AMBULANCE: "Ambulanse",
};
const STATUSES = { CAPACITY_STATUS_NORMAL: "NORMAL", CAPACITY_STATUS_STRAINED: "STRAINED", CAPACITY_STATUS_FULL: "FULL" };
const SEVERITIES = { ALERT_SEVERITY_INFO: "INFO", ALERT_SEVERITY_WARNING: "WARNING", ALERT_SEVERITY_CRITICAL: "CRITICAL" };

const units = new Map();   // unit_id -> unit (with resources by type)
const alerts = new Map();  // alert_id -> alert
let capacityWatch = null;  // the AbortController of the capacity watch of the chosen region
let alertsWatch = null;    // and of the alerts watch

function token() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("access_token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("access_token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function setStatus(text, isError = false) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function askForToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  setStatus(message, true);
  document.getElementById("signin").hidden = false;
}

// Reads one NDJSON stream; calls onMessage per message; resolves with the reason it ended.
async function readStream(path, params, onMessage, signal) {
  const response = await fetch(`${path}?${params}`, { headers: { authorization: `Bearer ${token()}` }, signal });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    return { status: response.status, reason: body.error?.reason ?? "" };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { status: 200, reason: "ENDED" };
    buffered += value;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line);
      if (message.error) return { status: 0, reason: message.error.reason };
      onMessage(message);
    }
  }
}

// Watches one stream until `signal` aborts it, resuming after drops from the last position.
async function watch(path, filter, onMessage, label, signal) {
  let position = 0;
  while (!signal.aborted) {
    if (!token()) return askForToken("Logg inn for å se kapasiteten.");
    const params = new URLSearchParams(filter);
    if (position) params.set("resume_after", position);
    let ended;
    try {
      ended = await readStream(path, params, (message) => {
        position = Number(message.position);
        onMessage(message);
        setStatus(`Oppdatert ${OSLO.format(new Date())}`);
      }, signal);
    } catch (error) {
      if (signal.aborted) return;  // replaced by a new watch (another region): its connection is closed
      ended = { status: 0, reason: "NETWORK" };
    }
    if (ended.status === 401 || ended.reason.startsWith("TOKEN_")) {
      return askForToken("Tilgangen er utløpt. Logg inn på nytt for å fortsette.");
    }
    if (ended.status >= 400 && ended.status < 500) return setStatus(`${label}: ${ended.reason}`, true);
    setStatus(`${label}: forbindelsen brøt, kobler til igjen …`, true);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "";
  if (className) td.className = className;
  return td;
}

function renderUnits() {
  const body = document.getElementById("units");
  body.replaceChildren();
  const totals = new Map();
  for (const unit of [...units.values()].sort((a, b) => a.unitId.localeCompare(b.unitId))) {
    for (const resource of [...unit.resources.values()].sort((a, b) => a.resourceType.localeCompare(b.resourceType))) {
      const row = body.insertRow();
      row.dataset.unit = unit.unitId;
      row.dataset.resource = resource.resourceType;
      cell(row, unit.name ?? unit.unitId);
      cell(row, UNIT_TYPES[unit.unitType] ?? "");
      cell(row, unit.municipalityNumber);
      cell(row, resource.resourceType);
      cell(row, resource.available ?? 0, "number available");
      cell(row, resource.occupied ?? 0, "number occupied");
      cell(row, resource.total ?? 0, "number total");
      const status = STATUSES[resource.status] ?? "";
      cell(row, status, `status status-${status}`);
      cell(row, resource.note);
      cell(row, resource.reportTime ? OSLO.format(new Date(resource.reportTime)) : "");
      const sum = totals.get(resource.resourceType) ?? { available: 0, occupied: 0, total: 0 };
      for (const key of ["available", "occupied", "total"]) sum[key] += resource[key] ?? 0;
      totals.set(resource.resourceType, sum);
    }
  }
  const foot = document.getElementById("totals");
  foot.replaceChildren();
  for (const [type, sum] of [...totals].sort()) {
    const row = foot.insertRow();
    row.dataset.resource = type;
    cell(row, "Sum");
    cell(row, "");
    cell(row, "");
    cell(row, type);
    cell(row, sum.available, "number available");
    cell(row, sum.occupied, "number occupied");
    cell(row, sum.total, "number total");
    for (let i = 0; i < 3; i++) cell(row, "");
  }
}

function onCapacity(message) {
  if (message.snapshot) {
    units.clear();
    for (const unit of message.snapshot.units ?? []) {
      units.set(unit.unitId, { ...unit, resources: new Map((unit.resources ?? []).map((r) => [r.resourceType, r])) });
    }
  } else if (message.change) {
    const { unitId, resource } = message.change;
    const unit = units.get(unitId) ?? { unitId, resources: new Map() };
    unit.resources.set(resource.resourceType, resource);
    units.set(unitId, unit);
  }
  renderUnits();
}

function renderAlerts() {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  const now = Date.now();
  const open = [...alerts.values()].filter((a) => new Date(a.expireTime).getTime() > now);
  open.sort((a, b) => (b.raiseTime ?? "").localeCompare(a.raiseTime ?? ""));
  for (const alert of open) {
    const item = document.createElement("li");
    const severity = SEVERITIES[alert.severity] ?? "";
    item.className = `severity-${severity}`;
    item.dataset.alert = alert.alertId;
    const heading = document.createElement("strong");
    heading.textContent = `${severity} – ${alert.message}`;
    const details = document.createElement("div");
    const acknowledged = (alert.acknowledgements ?? []).map((a) => a.orgnr);
    details.textContent = `Fra ${alert.senderOrgnr}, utløper ${OSLO.format(new Date(alert.expireTime))}. ` +
      `Kvittert: ${acknowledged.join(", ") || "ingen"}. Venter på: ${(alert.pendingOrgnrs ?? []).join(", ") || "ingen"}.`;
    details.className = "acknowledgements";
    item.append(heading, details);
    list.append(item);
  }
  document.getElementById("no-alerts").hidden = open.length > 0;
}

function onAlert(message) {
  if (message.snapshot) {
    alerts.clear();
    for (const alert of message.snapshot.alerts ?? []) alerts.set(alert.alertId, alert);
  } else if (message.alertEvent) {
    const alert = message.alertEvent.alert;
    alerts.set(alert.alertId, alert);
  }
  renderAlerts();
}

// (Re)starts the capacity watch for the chosen region; the previous one's connection is closed,
// so switching regions never leaves streams behind (browsers allow few connections per host).
function watchCapacity() {
  capacityWatch?.abort();
  capacityWatch = new AbortController();
  units.clear();
  renderUnits();
  const region = document.getElementById("region").value;
  watch("/api/v1/capacity:watch", region ? { region } : {}, onCapacity, "Kapasitet", capacityWatch.signal);
}

function start() {
  watchCapacity();
  alertsWatch?.abort();
  alertsWatch = new AbortController();
  watch("/api/v1/alerts:watch", {}, onAlert, "Varsler", alertsWatch.signal);
}

document.addEventListener("DOMContentLoaded", () => {
  const region = document.getElementById("region");
  region.value = new URLSearchParams(location.search).get("region") ?? "Nordland";
  region.addEventListener("change", () => {
    history.replaceState(null, "", `?region=${encodeURIComponent(region.value)}`);
    watchCapacity();
  });
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
    document.getElementById("signin").hidden = true;
    start();
  });
  setInterval(renderAlerts, 30000);  // expired alerts leave the list
  start();
});
