// Fleet › Devices: serial ports, devices read over their service UART, simulated devices.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { DeviceView } from "../lib/bindings/DeviceView";
import { h } from "../lib/dom";
import { formatDuration } from "../lib/format";
import { portChanges, samePorts } from "../lib/ports";
import { hasKey, t } from "../lib/i18n";
import { state, update, type DeviceEntry } from "../store";
import { errorBox, textInput } from "./common";
import { loadUnits, showUnit } from "./units";

export async function refreshPorts(): Promise<void> {
  try {
    const ports = await backend.listPorts();
    update((s) => {
      s.ports = ports;
      s.portsError = undefined;
    });
  } catch (e) {
    update((s) => (s.portsError = BackendError.from(e)));
  }
}

/** How often the Devices screen re-lists the ports (plugging or unplugging shows by itself). */
const PORT_WATCH_MS = 2000;
let watching: ReturnType<typeof setInterval> | undefined;

/** Re-list the ports while the Devices screen is shown; redraw only when the list changed. */
export function watchPorts(): void {
  if (watching) return;
  watching = setInterval(() => {
    if (document.hidden || state.screen !== "devices") return;
    backend
      .listPorts()
      .then((ports) => {
        if (samePorts(state.ports, ports) && !state.portsError) return;
        const { added, removed } = portChanges(state.ports, ports);
        update((s) => {
          s.ports = ports;
          s.portsError = undefined;
          // A listed port that went away took its device with it (simulators are not listed).
          s.devices = s.devices.filter((d) => d.sim || !removed.includes(d.port));
        });
        for (const path of added) void identifyPlugged(path);
      })
      .catch(() => {
        // Shown by the next explicit refresh; a background poll must not flash errors.
      });
  }, PORT_WATCH_MS);
}

/** A port just plugged in: shown as a device only if an OpenPAYGO device answers on it. */
async function identifyPlugged(port: string): Promise<void> {
  if (state.devices.some((d) => d.port === port)) return;
  try {
    const view = await backend.readDevice(port);
    update(() => (entryFor(port).view = view));
  } catch {
    // Not a device (a modem, a GPS, a silent board): it stays in the port list only.
  }
}

function entryFor(port: string): DeviceEntry {
  let d = state.devices.find((x) => x.port === port);
  if (!d) {
    d = { port, busy: false, tokenInput: "" };
    state.devices.unshift(d);
  }
  return d;
}

export async function readDevice(port: string): Promise<void> {
  const d = entryFor(port);
  update(() => {
    d.busy = true;
    d.error = undefined;
  });
  try {
    const view = await backend.readDevice(port);
    update(() => (d.view = view));
  } catch (e) {
    update(() => (d.error = BackendError.from(e)));
  } finally {
    update(() => (d.busy = false));
  }
}

async function startSim(): Promise<void> {
  update((s) => {
    s.simBusy = true;
    s.simError = undefined;
  });
  try {
    const sim = await backend.startSim();
    update(() => (entryFor(sim.port).sim = sim));
    await readDevice(sim.port);
  } catch (e) {
    update((s) => (s.simError = BackendError.from(e)));
  } finally {
    update((s) => (s.simBusy = false));
  }
}

async function stopSim(d: DeviceEntry): Promise<void> {
  if (!d.sim) return;
  try {
    await backend.stopSim(d.sim.id);
    update((s) => (s.devices = s.devices.filter((x) => x !== d)));
  } catch (e) {
    update(() => (d.error = BackendError.from(e)));
  }
}

export async function enterOnDevice(d: DeviceEntry, token: string): Promise<void> {
  update(() => {
    d.busy = true;
    d.error = undefined;
    d.entry = undefined;
  });
  try {
    const entry = await backend.enterToken(d.port, token);
    update(() => {
      d.entry = entry;
      d.view = entry.device;
    });
  } catch (e) {
    update(() => (d.error = BackendError.from(e)));
  } finally {
    update(() => (d.busy = false));
  }
}

/** A token result code in words (the code itself stays visible for support). */
export function resultText(code: string): string {
  const key = `result.${code}`;
  return hasKey(key) ? t(key) : code;
}

function stateText(code: string): string {
  const key = `state.${code}`;
  return hasKey(key) ? t(key) : code;
}

/** Open the Issue screen prefilled for this device. */
/** "Issue token for this device": a demo simulator's key is known, so the stateless form is
 * prefilled; any other device's key is in the ledger only, so its unit opens in Units. */
function issueFor(d: DeviceEntry): void {
  const demoKey = d.sim && !d.sim.blank && d.sim.key !== "";
  const serial = d.view?.identity.serial;
  if (!demoKey && serial) {
    update((s) => {
      s.screen = "units";
      s.unitsSearch = serial;
    });
    // Locked: Units shows the unlock form first; the search is kept for after.
    if (state.ledger?.unlocked) void loadUnits(1).then(() => showUnit(serial));
    return;
  }
  update((s) => {
    s.screen = "issue";
    s.issueTarget = d.port;
    s.issued = undefined;
    s.issueError = undefined;
    s.issueEntry = undefined;
    s.issueEntryError = undefined;
    if (d.sim) {
      s.issue.key = d.sim.key;
      s.issue.startingCode = String(d.sim.startingCode);
    }
    if (d.view?.status) s.issue.lastCount = String(d.view.status.count);
    if (d.view) s.issue.restricted = d.view.identity.restricted;
  });
}

function row(label: string, value: string | HTMLElement, testid?: string): HTMLElement[] {
  return [h("dt", {}, label), h("dd", { "data-testid": testid }, value)];
}

function details(v: DeviceView, d: DeviceEntry): HTMLElement {
  const id = v.identity;
  const st = v.status;
  return h(
    "dl",
    { class: "facts" },
    row(t("device.port"), v.port),
    row(t("device.firmware"), `${id.firmware} · ${t("device.protocol")} ${id.protocol}`),
    row(t("device.keypad"), id.restricted ? t("device.keypadRestricted") : t("device.keypadFull")),
    st
      ? [
          row(
            t("device.state"),
            h("span", { class: `pill state-${st.state}` }, stateText(st.state)),
            "device-state",
          ),
          row(t("device.credit"), formatDuration(st.creditSeconds), "device-credit"),
          row(t("device.count"), String(st.count), "device-count"),
          st.lockoutSeconds > 0 ? row(t("device.lockout"), formatDuration(st.lockoutSeconds)) : null,
          st.lastResult ? row(t("device.lastResult"), resultText(st.lastResult)) : null,
        ].flat().filter((x): x is HTMLElement => x !== null)
      : row(t("device.state"), t("device.notProvisioned")),
    // A blank simulator has no demo key: once provisioned, its key lives only in the ledger.
    d.sim && !d.sim.blank
      ? [
          row(t("device.key"), h("code", {}, d.sim.key), "device-key"),
          row(t("device.startingCode"), String(d.sim.startingCode), "device-starting-code"),
        ]
      : null,
  );
}

function card(d: DeviceEntry): HTMLElement {
  const v = d.view;
  const title = v?.identity.serial ?? v?.identity.firmware ?? d.port;
  return h(
    "article",
    { class: "card device", "data-testid": "device-card", "data-port": d.port },
    h(
      "header",
      {},
      h("h3", { "data-testid": "device-serial" }, title),
      d.sim ? h("span", { class: "pill sim" }, t("devices.simulated")) : null,
      d.busy ? h("span", { class: "muted" }, t("busy")) : null,
    ),
    v ? details(v, d) : d.busy ? h("p", { class: "muted" }, t("devices.reading", { port: d.port })) : null,
    errorBox(d.error, "device-error"),
    d.entry
      ? h(
          "p",
          {
            class: d.entry.result === "INVALID" || d.entry.result === "ALREADY_USED" || d.entry.result === "LOCKED" ? "result bad" : "result good",
            "data-testid": "device-entry-result",
          },
          resultText(d.entry.result),
          " ",
          h("code", {}, d.entry.result),
        )
      : null,
    v?.identity.provisioned
      ? h(
          "form",
          {
            class: "inline",
            onsubmit: (e: Event) => {
              e.preventDefault();
              if (d.tokenInput.trim()) void enterOnDevice(d, d.tokenInput);
            },
          },
          h(
            "label",
            { class: "field grow" },
            h("span", {}, t("device.tokenLabel")),
            // One field per card: the id names the port (redraws keep focus by id).
            textInput(`device-token-${d.port}`, d.tokenInput, (x) => (d.tokenInput = x), {
              inputmode: "numeric",
              placeholder: "123 456 789",
              "data-testid": "device-token",
            }),
          ),
          h("button", { type: "submit", disabled: d.busy, "data-testid": "device-enter" }, t("device.enter")),
        )
      : null,
    h(
      "footer",
      {},
      v?.identity.provisioned
        ? h("button", { class: "primary", onclick: () => issueFor(d), "data-testid": "issue-for-device" }, t("device.issueFor"))
        : null,
      h("button", { onclick: () => void readDevice(d.port), disabled: d.busy, "data-testid": "device-refresh" }, t("device.refresh")),
      d.sim
        ? h("button", { onclick: () => void stopSim(d), "data-testid": "sim-stop" }, t("devices.stopSim"))
        : h("button", { onclick: () => update((s) => (s.devices = s.devices.filter((x) => x !== d))) }, t("device.remove")),
    ),
  );
}

export function devicesScreen(): HTMLElement {
  const s = state;
  return h(
    "section",
    { class: "screen", "data-testid": "screen-devices" },
    h("h2", {}, t("devices.title")),
    h("p", { class: "muted" }, t("devices.intro")),
    h(
      "div",
      { class: "toolbar" },
      h(
        "div",
        { class: "card tool" },
        h("h3", {}, t("devices.trySim")),
        h("p", { class: "muted" }, t("devices.trySimHint")),
        h(
          "button",
          { class: "primary", onclick: () => void startSim(), disabled: s.simBusy, "data-testid": "sim-start" },
          s.simBusy ? t("busy") : t("devices.trySim"),
        ),
        errorBox(s.simError, "sim-error"),
      ),
      h(
        "div",
        { class: "card tool" },
        h(
          "h3",
          {},
          t("devices.ports"),
          " ",
          h("button", { class: "small", onclick: () => void refreshPorts() }, t("devices.refreshPorts")),
        ),
        s.ports.length === 0
          ? h("p", { class: "muted" }, t("devices.noPorts"))
          : h(
              "ul",
              { class: "ports" },
              s.ports.map((p) =>
                h(
                  "li",
                  {},
                  h("code", {}, p.path),
                  " ",
                  h("span", { class: "muted" }, p.kind),
                  " ",
                  h("button", { class: "small", onclick: () => void readDevice(p.path) }, t("devices.open")),
                ),
              ),
            ),
        errorBox(s.portsError),
        h(
          "form",
          {
            class: "inline",
            onsubmit: (e: Event) => {
              e.preventDefault();
              const p = s.portPath.trim();
              if (p) void readDevice(p);
            },
          },
          h(
            "label",
            { class: "field grow" },
            h("span", {}, t("devices.addPath")),
            textInput("port-path", s.portPath, (x) => (s.portPath = x), {
              placeholder: t("devices.addPathPlaceholder"),
            }),
          ),
          h("button", { type: "submit", "data-testid": "port-read" }, t("devices.add")),
        ),
      ),
    ),
    s.devices.length === 0
      ? h("p", { class: "empty" }, t("devices.none"))
      : h("div", { class: "cards", "data-testid": "device-list" }, s.devices.map(card)),
  );
}
