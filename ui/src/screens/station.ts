// Station › Flash & provision, and Station › Batch: flash firmware through a debug probe,
// provision blank devices into the open ledger (the back-end draws the key; it never reaches
// this window) with a printable label, and provision a queue of devices one after another.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { BatchResult } from "../lib/bindings/BatchResult";
import type { BatchUnit } from "../lib/bindings/BatchUnit";
import type { FlashDone } from "../lib/bindings/FlashDone";
import type { FlashSetup } from "../lib/bindings/FlashSetup";
import type { ImageCheck } from "../lib/bindings/ImageCheck";
import type { ProvisionedUnit } from "../lib/bindings/ProvisionedUnit";
import type { StationStep } from "../lib/bindings/StationStep";
import { h } from "../lib/dom";
import { hasKey, t } from "../lib/i18n";
import {
  applyBatchUnit,
  applyFlashEvent,
  batchCounts,
  emptyBar,
  type FlashBar,
  formatMs,
  labelLine,
  mergeDetected,
  overallPercent,
  percent,
  provisionable,
  type QueueEntry,
  queuedRows,
  selectedPorts,
  siblingPath,
} from "../lib/station";
import { state, update } from "../store";
import { checkbox, errorBox, textInput } from "./common";
import { readDevice } from "./devices";
import { loadUnits } from "./units";

/** The Station screens' own state (kept here, not in the shared store). */
const st = {
  started: false,
  // Flash
  setup: undefined as FlashSetup | undefined,
  setupBusy: false,
  chip: "",
  chipOptions: [] as string[],
  image: "",
  probeSerial: "",
  verify: true,
  reset: true,
  flashing: false,
  cancelling: false,
  bar: emptyBar() as FlashBar,
  attached: "",
  plan: "",
  flashDone: undefined as FlashDone | undefined,
  checked: undefined as ImageCheck | undefined,
  flashError: undefined as BackendError | undefined,
  // Provision
  port: "",
  model: "",
  operator: "",
  detected: [] as QueueEntry[],
  detecting: false,
  detectError: undefined as BackendError | undefined,
  simBusy: false,
  provisioning: false,
  steps: [] as StationStep[],
  provisioned: [] as ProvisionedUnit[],
  provError: undefined as BackendError | undefined,
  copied: "" as "" | "label" | "csv" | "report",
  labelsPath: "",
  labelsSaved: "",
  labelsError: undefined as BackendError | undefined,
  // Batch
  queue: [] as QueueEntry[],
  rows: [] as BatchUnit[],
  running: false,
  batchCancelling: false,
  result: undefined as BatchResult | undefined,
  batchError: undefined as BackendError | undefined,
  reportPath: "",
  reportSaved: "",
  reportError: undefined as BackendError | undefined,
};

/** Listen to the back-end's station events and load what the screens show (once). */
function start(): void {
  if (st.started) return;
  st.started = true;
  void backend.onStationFlash((e) =>
    update(() => {
      st.bar = applyFlashEvent(st.bar, e);
      if (e.kind === "attached" && e.text) st.attached = e.text;
      if (e.kind === "layout" && e.text) st.plan = e.text;
    }),
  );
  void backend.onStationProgress((s) => update(() => (st.steps = [...st.steps.slice(-7), s])));
  void backend.onStationBatch((u) => update(() => (st.rows = applyBatchUnit(st.rows, u))));
  void loadSetup();
  void detect();
}

async function loadSetup(): Promise<void> {
  update(() => (st.setupBusy = true));
  try {
    const setup = await backend.stationFlashSetup();
    update(() => {
      st.setup = setup;
      if (!st.chip) st.chip = setup.defaultChip;
      if (!st.image) {
        const img = setup.images.find((i) => i.chip === st.chip) ?? setup.images[0];
        if (img) st.image = img.path;
      }
    });
  } catch (e) {
    update(() => (st.flashError = BackendError.from(e)));
  } finally {
    update(() => (st.setupBusy = false));
  }
}

let chipQuery = 0;
async function searchChips(query: string): Promise<void> {
  const mine = ++chipQuery;
  if (query.trim().length < 2) return;
  try {
    const found = await backend.stationChips(query);
    // Only the latest search may fill the list (answers can come back out of order).
    if (mine === chipQuery) update(() => (st.chipOptions = found));
  } catch {
    // The list is only a help; the flash itself reports an unknown chip with its code.
  }
}

function flashRequest() {
  return {
    chip: st.chip,
    image: st.image,
    probeSerial: st.probeSerial || null,
    verify: st.verify,
    reset: st.reset,
  };
}

async function checkImage(): Promise<void> {
  update(() => {
    st.flashError = undefined;
    st.checked = undefined;
    st.flashDone = undefined;
  });
  try {
    const c = await backend.stationCheckImage(flashRequest());
    update(() => (st.checked = c));
  } catch (e) {
    update(() => (st.flashError = BackendError.from(e)));
  }
}

async function flash(): Promise<void> {
  update(() => {
    st.flashing = true;
    st.cancelling = false;
    st.flashError = undefined;
    st.flashDone = undefined;
    st.checked = undefined;
    st.bar = emptyBar();
    st.attached = "";
    st.plan = "";
  });
  try {
    const done = await backend.stationFlash(flashRequest());
    update(() => (st.flashDone = done));
  } catch (e) {
    update(() => (st.flashError = BackendError.from(e)));
  } finally {
    update(() => {
      st.flashing = false;
      st.cancelling = false;
    });
  }
}

async function cancelFlash(): Promise<void> {
  update(() => (st.cancelling = true));
  await backend.stationFlashCancel().catch(() => false);
}

async function detect(tick: string[] = []): Promise<void> {
  update(() => {
    st.detecting = true;
    st.detectError = undefined;
  });
  try {
    const found = await backend.stationDetect();
    update(() => {
      st.detected = mergeDetected(st.detected, found);
      st.queue = mergeDetected(st.queue, found, tick);
      // The port field follows the first blank device until the technician picks one.
      if (!st.port) st.port = found.find(provisionable)?.port ?? "";
    });
  } catch (e) {
    update(() => (st.detectError = BackendError.from(e)));
  } finally {
    update(() => (st.detecting = false));
  }
}

/** Start `n` blank simulated devices (also listed under Devices), then detect again. */
async function blankSims(n: number, forProvision: boolean): Promise<void> {
  update(() => {
    st.simBusy = true;
    st.detectError = undefined;
  });
  const ports: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const sim = await backend.startSim(true);
      ports.push(sim.port);
      update((s) => {
        if (!s.devices.some((d) => d.port === sim.port)) s.devices.push({ port: sim.port, busy: false, tokenInput: "", sim });
      });
      void readDevice(sim.port);
    }
    if (forProvision && ports.length) update(() => (st.port = ports[0]));
  } catch (e) {
    update(() => (st.detectError = BackendError.from(e)));
  } finally {
    update(() => (st.simBusy = false));
  }
  await detect(ports);
}

const orNull = (s: string) => (s.trim() ? s.trim() : null);

async function provision(): Promise<void> {
  update(() => {
    st.provisioning = true;
    st.provError = undefined;
    st.steps = [];
    st.copied = "";
  });
  try {
    const u = await backend.stationProvision({ port: st.port, model: orNull(st.model), operator: orNull(st.operator) });
    update(() => (st.provisioned = [u, ...st.provisioned]));
    void detect();
    void readDevice(u.port);
    if (state.ledger?.unlocked) void loadUnits();
  } catch (e) {
    const err = BackendError.from(e);
    update((s) => {
      st.provError = err;
      // The ledger locked itself or was locked: Fleet › Units shows the unlock form.
      if (err.code === "LEDGER_CLOSED" && s.ledger) s.ledger = { ...s.ledger, unlocked: false };
    });
  } finally {
    update(() => (st.provisioning = false));
  }
}

/** The async clipboard API, else the older selection copy (some webviews lack the first). */
async function copyText(text: string, what: typeof st.copied): Promise<void> {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const area = h("textarea", { style: "position:fixed;opacity:0" }, text);
    document.body.appendChild(area);
    area.select();
    ok = document.execCommand("copy");
    area.remove();
  }
  if (ok) update(() => (st.copied = what));
}

async function saveLabels(): Promise<void> {
  update(() => {
    st.labelsError = undefined;
    st.labelsSaved = "";
  });
  try {
    const path = await backend.stationSaveLabels(st.labelsPath || defaultPath("labels.csv"));
    update(() => (st.labelsSaved = path));
  } catch (e) {
    update(() => (st.labelsError = BackendError.from(e)));
  }
}

async function copyLabels(): Promise<void> {
  try {
    await copyText(await backend.stationLabelsCsv(), "csv");
  } catch (e) {
    update(() => (st.labelsError = BackendError.from(e)));
  }
}

async function runBatch(): Promise<void> {
  const ports = selectedPorts(st.queue);
  update(() => {
    st.running = true;
    st.batchCancelling = false;
    st.batchError = undefined;
    st.result = undefined;
    st.reportSaved = "";
    st.reportError = undefined;
    st.rows = queuedRows(ports);
  });
  try {
    const r = await backend.stationBatch(ports, orNull(st.model), orNull(st.operator));
    update(() => {
      st.result = r;
      st.rows = r.units;
    });
    if (state.ledger?.unlocked) void loadUnits();
    void detect();
  } catch (e) {
    update(() => (st.batchError = BackendError.from(e)));
  } finally {
    update(() => {
      st.running = false;
      st.batchCancelling = false;
    });
  }
}

async function cancelBatch(): Promise<void> {
  update(() => (st.batchCancelling = true));
  await backend.stationBatchCancel().catch(() => false);
}

async function saveReport(): Promise<void> {
  update(() => {
    st.reportError = undefined;
    st.reportSaved = "";
  });
  try {
    const path = await backend.stationSaveReport(st.reportPath || defaultPath("batch-report.csv"));
    update(() => (st.reportSaved = path));
  } catch (e) {
    update(() => (st.reportError = BackendError.from(e)));
  }
}

/** Beside the ledger file: a folder the technician's account can write to. */
function defaultPath(name: string): string {
  return state.ledger ? siblingPath(state.ledger.path, name) : "";
}

function input(id: string, value: string, onInput: (v: string) => void, extra: Record<string, unknown> = {}) {
  return textInput(id, value, onInput, extra);
}

function labelled(text: string, el: HTMLElement, cls = "field"): HTMLElement {
  return h("label", { class: cls }, h("span", {}, text), el);
}

// --- Flash ---------------------------------------------------------------------------------

function probesBox(): HTMLElement {
  const probes = st.setup?.probes ?? [];
  return h(
    "div",
    { class: "probes" },
    h(
      "h4",
      {},
      t("station.probes"),
      " ",
      h(
        "button",
        { class: "small", onclick: () => void loadSetup(), disabled: st.setupBusy, "data-testid": "probes-refresh" },
        st.setupBusy ? t("busy") : t("devices.refreshPorts"),
      ),
    ),
    probes.length === 0
      ? h("p", { class: "muted", "data-testid": "no-probe" }, t("station.noProbe"))
      : h(
          "ul",
          { class: "ports" },
          probes.map((p) =>
            h(
              "li",
              {},
              h("input", {
                type: "radio",
                name: "probe",
                checked: (p.serial ?? "") === st.probeSerial || (probes.length === 1 && !st.probeSerial),
                onchange: () => (st.probeSerial = p.serial ?? ""),
              }),
              " ",
              h("strong", {}, p.identifier),
              ` ${p.kind} ${p.usbId} `,
              p.serial ? h("code", {}, p.serial) : null,
              p.accessible ? null : h("span", { class: "pill state-INACTIVE" }, t("station.probeDenied")),
            ),
          ),
        ),
  );
}

function flashCard(): HTMLElement {
  const images = st.setup?.images ?? [];
  const pct = overallPercent(st.bar, st.verify);
  return h(
    "article",
    { class: "card station-card", "data-testid": "flash-card" },
    h("h3", {}, t("station.flashTitle")),
    h("p", { class: "muted" }, t("station.flashIntro")),
    probesBox(),
    h(
      "div",
      { class: "row" },
      labelled(
        t("station.chip"),
        input(
          "flash-chip",
          st.chip,
          (v) => {
            st.chip = v;
            void searchChips(v);
          },
          { list: "chip-options", placeholder: "STM32F103C8" },
        ),
      ),
      h("datalist", { id: "chip-options" }, st.chipOptions.map((c) => h("option", { value: c }))),
    ),
    labelled(t("station.image"), input("flash-image", st.image, (v) => (st.image = v), { placeholder: "…/target/firmware/stm32f103c8.elf" })),
    images.length
      ? h(
          "p",
          { class: "images" },
          h("span", { class: "muted" }, t("station.imagesFound"), " "),
          images.map((i) =>
            h(
              "button",
              {
                class: i.path === st.image ? "small chosen" : "small",
                title: i.path,
                "data-testid": "flash-image-option",
                onclick: () =>
                  update(() => {
                    st.image = i.path;
                    if (i.chip) st.chip = i.chip;
                  }),
              },
              i.name,
            ),
          ),
        )
      : h("p", { class: "muted small-text" }, t("station.noImages", { dirs: (st.setup?.imageDirs ?? []).join(", ") || "target/firmware" })),
    h(
      "div",
      { class: "row checks" },
      checkbox("flash-verify", "station.verify", st.verify, (v) => (st.verify = v)),
      checkbox("flash-reset", "station.reset", st.reset, (v) => (st.reset = v)),
    ),
    h(
      "div",
      { class: "buttons" },
      h("button", { onclick: () => void checkImage(), disabled: st.flashing, "data-testid": "flash-check" }, t("station.check")),
      h(
        "button",
        { class: "primary", onclick: () => void flash(), disabled: st.flashing, "data-testid": "flash-start" },
        st.flashing ? t("station.flashing") : t("station.flash"),
      ),
      st.flashing
        ? h(
            "button",
            { onclick: () => void cancelFlash(), disabled: st.cancelling, "data-testid": "flash-cancel" },
            st.cancelling ? t("station.cancelling") : t("station.cancel"),
          )
        : null,
    ),
    st.flashing || st.bar.phase
      ? h(
          "div",
          { class: "flash-progress", "data-testid": "flash-progress" },
          h("progress", { max: 100, value: pct }),
          h(
            "p",
            { class: "muted" },
            st.bar.phase ? `${t(phaseKey(st.bar.phase))} · ${percent(st.bar.done, st.bar.total)} % · ${st.bar.done}${st.bar.total ? ` / ${st.bar.total}` : ""} B` : t("station.connecting"),
          ),
          st.attached ? h("p", { class: "muted small-text" }, st.attached) : null,
          st.plan ? h("p", { class: "muted small-text" }, st.plan) : null,
          st.flashing ? h("p", { class: "muted small-text" }, t("station.cancelNote")) : null,
        )
      : null,
    st.checked
      ? h(
          "p",
          { class: "result good", "data-testid": "flash-checked" },
          t("station.fits", { bytes: st.checked.imageBytes, chip: st.checked.chip, flash: Math.round(st.checked.flashBytes / 1024) }),
        )
      : null,
    st.flashDone
      ? h(
          "p",
          { class: "result good", "data-testid": "flash-done" },
          t("station.flashed", { bytes: st.flashDone.imageBytes, chip: st.flashDone.chip, seconds: st.flashDone.seconds.toFixed(1) }),
          st.flashDone.verified ? ` · ${t("station.verified")}` : "",
        )
      : null,
    errorBox(st.flashError, "flash-error"),
  );
}

function phaseKey(phase: string) {
  const key = `station.phase.${phase}`;
  return hasKey(key) ? key : "station.phase.program";
}

// --- Provision -----------------------------------------------------------------------------

function devicePicker(forBatch: boolean): HTMLElement {
  const list = forBatch ? st.queue : st.detected;
  return h(
    "div",
    { class: "picker" },
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { class: "small", onclick: () => void detect(), disabled: st.detecting, "data-testid": forBatch ? "batch-detect" : "station-detect" },
        st.detecting ? t("busy") : t("station.detect"),
      ),
      h(
        "button",
        {
          class: "small",
          onclick: () => void blankSims(forBatch ? 3 : 1, !forBatch),
          disabled: st.simBusy,
          "data-testid": forBatch ? "batch-sims" : "station-sim-blank",
        },
        st.simBusy ? t("busy") : forBatch ? t("station.addSims") : t("station.blankSim"),
      ),
    ),
    list.length === 0
      ? h("p", { class: "muted" }, st.detecting ? t("busy") : t("station.noDevices"))
      : h(
          "ul",
          { class: "ports queue", "data-testid": forBatch ? "batch-queue" : "station-devices" },
          list.map((q) =>
            h(
              "li",
              { "data-port": q.port },
              forBatch
                ? h("input", {
                    type: "checkbox",
                    checked: q.checked,
                    disabled: !provisionable(q) || st.running,
                    "data-testid": "queue-check",
                    onchange: (e: Event) => update(() => (q.checked = (e.target as HTMLInputElement).checked)),
                  })
                : h("input", {
                    type: "radio",
                    name: "station-port",
                    checked: st.port === q.port,
                    disabled: !provisionable(q),
                    onchange: () => update(() => (st.port = q.port)),
                  }),
              " ",
              h("code", {}, q.port),
              " ",
              h("span", { class: "muted" }, [q.simId !== null ? t("station.simLabel", { id: q.simId }) : q.label, portState(q)].filter(Boolean).join(" · ")),
            ),
          ),
        ),
    errorBox(st.detectError, "detect-error"),
  );
}

function portState(q: QueueEntry): string {
  if (q.state === "device") return q.provisioned ? t("station.provisionedAs", { serial: q.serial ?? "?" }) : t("station.blank");
  const key = `station.port.${q.state}`;
  return hasKey(key) ? t(key) : q.state;
}

function labelCard(u: ProvisionedUnit, latest: boolean): HTMLElement {
  const line = labelLine(u);
  return h(
    "div",
    { class: latest ? "label print-label" : "label", "data-testid": latest ? "station-label" : undefined },
    h("div", { class: "label-serial", "data-testid": latest ? "station-serial" : undefined }, u.serial),
    h("div", { class: "label-line", "data-testid": latest ? "station-label-line" : undefined }, line),
  );
}

function provisionCard(): HTMLElement {
  const latest = st.provisioned[0];
  const ledgerOpen = state.ledger?.unlocked === true;
  return h(
    "article",
    { class: "card station-card", "data-testid": "provision-card" },
    h("h3", {}, t("station.provisionTitle")),
    h("p", { class: "muted" }, t("station.provisionIntro")),
    ledgerOpen
      ? null
      : h(
          "p",
          { class: "notice", "data-testid": "station-ledger-closed" },
          t("station.ledgerClosed"),
          " ",
          h("button", { class: "small", onclick: () => update((s) => (s.screen = "units")) }, t("nav.units")),
        ),
    devicePicker(false),
    h(
      "div",
      { class: "row" },
      labelled(t("station.port"), input("station-port", st.port, (v) => (st.port = v), { placeholder: "/dev/ttyUSB0" })),
    ),
    h(
      "div",
      { class: "row" },
      labelled(t("station.model"), input("station-model", st.model, (v) => (st.model = v), { placeholder: "SHS-10" })),
      labelled(t("form.operator"), input("station-operator", st.operator, (v) => (st.operator = v))),
    ),
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { class: "primary big", onclick: () => void provision(), disabled: st.provisioning, "data-testid": "station-provision" },
        st.provisioning ? t("busy") : t("station.provision"),
      ),
    ),
    st.steps.length
      ? h("ol", { class: "steps muted", "data-testid": "station-steps" }, st.steps.map((s) => h("li", {}, stepText(s))))
      : null,
    errorBox(st.provError, "station-error"),
    latest
      ? h(
          "div",
          { class: "provisioned", "data-testid": "station-result" },
          h("p", { class: "result good" }, t(latest.recovered ? "station.recovered" : "station.done", { serial: latest.serial, ms: latest.durationMs })),
          labelCard(latest, true),
          h(
            "div",
            { class: "buttons" },
            h("button", { onclick: () => void copyText(labelLine(latest), "label"), "data-testid": "label-copy" }, st.copied === "label" ? t("issue.copied") : t("issue.copy")),
            h("button", { onclick: () => window.print(), "data-testid": "label-print" }, t("station.print")),
          ),
          st.provisioned.length > 1
            ? h("div", { class: "earlier" }, h("h4", {}, t("station.earlier")), st.provisioned.slice(1, 6).map((u) => labelCard(u, false)))
            : null,
          labelsExport(),
        )
      : null,
  );
}

/** Save or copy the label lines of every unit provisioned in this session (single and batch). */
function labelsExport(): HTMLElement {
  return h(
    "div",
    { class: "labels-export" },
    h(
      "form",
      {
        class: "inline",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void saveLabels();
        },
      },
      labelled(
        t("station.exportLabels"),
        input("labels-path", st.labelsPath, (v) => (st.labelsPath = v), { placeholder: defaultPath("labels.csv") }),
        "field grow",
      ),
      h("button", { type: "submit", "data-testid": "labels-save" }, t("station.save")),
      h("button", { type: "button", onclick: () => void copyLabels(), "data-testid": "labels-copy" }, st.copied === "csv" ? t("issue.copied") : t("station.copyCsv")),
    ),
    st.labelsSaved ? h("p", { class: "muted", "data-testid": "labels-saved" }, t("station.saved", { path: st.labelsSaved })) : null,
    errorBox(st.labelsError, "labels-error"),
  );
}

function stepText(s: StationStep): string {
  const key = `station.step.${s.step}`;
  return hasKey(key) ? t(key, { port: s.port, serial: s.serial ?? "" }) : s.text;
}

export function stationScreen(): HTMLElement {
  start();
  return h(
    "section",
    { class: "screen", "data-testid": "screen-station" },
    h("h2", {}, t("station.title")),
    h("div", { class: "station-grid" }, flashCard(), provisionCard()),
  );
}

// --- Batch ---------------------------------------------------------------------------------

function resultCell(u: BatchUnit): HTMLElement {
  const cls = u.result === "ok" ? "pill state-ACTIVE" : u.result === "error" ? "pill state-INACTIVE" : "pill";
  const key = `station.result.${u.result}`;
  return h("span", { class: cls }, hasKey(key) ? t(key) : u.result);
}

export function batchScreen(): HTMLElement {
  start();
  const counts = batchCounts(st.rows);
  const chosen = selectedPorts(st.queue);
  return h(
    "section",
    { class: "screen", "data-testid": "screen-batch" },
    h("h2", {}, t("station.batchTitle")),
    h("p", { class: "muted" }, t("station.batchIntro")),
    state.ledger?.unlocked === true ? null : h("p", { class: "notice" }, t("station.ledgerClosed")),
    h(
      "div",
      { class: "toolbar batch-tools" },
      h("div", { class: "card tool" }, h("h3", {}, t("station.queue")), devicePicker(true)),
      h(
        "div",
        { class: "card tool" },
        h(
          "div",
          { class: "row" },
          labelled(t("station.model"), input("batch-model", st.model, (v) => (st.model = v), { placeholder: "SHS-10" })),
          labelled(t("form.operator"), input("batch-operator", st.operator, (v) => (st.operator = v))),
        ),
        h(
          "div",
          { class: "buttons" },
          h(
            "button",
            { class: "primary big", onclick: () => void runBatch(), disabled: st.running || chosen.length === 0, "data-testid": "batch-start" },
            st.running ? t("busy") : t("station.batchStart", { n: chosen.length }),
          ),
          st.running
            ? h(
                "button",
                { onclick: () => void cancelBatch(), disabled: st.batchCancelling, "data-testid": "batch-cancel" },
                st.batchCancelling ? t("station.batchCancelling") : t("station.cancel"),
              )
            : null,
        ),
        st.running ? h("p", { class: "muted small-text" }, t("station.batchCancelNote")) : null,
        errorBox(st.batchError, "batch-error"),
      ),
    ),
    st.rows.length
      ? h(
          "table",
          { class: "units batch", "data-testid": "batch-rows" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["#", t("station.port"), t("units.serial"), t("station.result"), t("station.time"), t("station.errorCode")].map((c) => h("th", {}, c)),
            ),
          ),
          h(
            "tbody",
            {},
            st.rows.map((u) =>
              h(
                "tr",
                { "data-testid": `batch-row-${u.index}`, "data-result": u.result },
                h("td", {}, String(u.index + 1)),
                h("td", {}, h("code", {}, u.port)),
                h("td", { "data-testid": "batch-serial" }, u.serial ?? ""),
                h("td", {}, resultCell(u)),
                h("td", {}, formatMs(u.durationMs)),
                h("td", { title: u.error?.message ?? "" }, u.error ? h("code", {}, u.error.code) : ""),
              ),
            ),
          ),
        )
      : null,
    st.rows.length
      ? h(
          "p",
          { class: "muted", "data-testid": "batch-summary" },
          t("station.batchSummary", { ok: counts.ok, failed: counts.failed, cancelled: counts.cancelled, left: counts.left }),
        )
      : null,
    st.result
      ? h(
          "div",
          { class: "card report" },
          h("h3", {}, t("station.report")),
          h("pre", { class: "report-csv", "data-testid": "batch-report" }, st.result.reportCsv),
          h(
            "form",
            {
              class: "inline",
              onsubmit: (e: Event) => {
                e.preventDefault();
                void saveReport();
              },
            },
            labelled(
              t("station.reportPath"),
              input("report-path", st.reportPath, (v) => (st.reportPath = v), { placeholder: defaultPath("batch-report.csv") }),
              "field grow",
            ),
            h("button", { type: "submit", "data-testid": "report-save" }, t("station.save")),
            h(
              "button",
              { type: "button", onclick: () => void copyText(st.result?.reportCsv ?? "", "report"), "data-testid": "report-copy" },
              st.copied === "report" ? t("issue.copied") : t("issue.copy"),
            ),
          ),
          st.reportSaved ? h("p", { class: "muted", "data-testid": "report-saved" }, t("station.saved", { path: st.reportSaved })) : null,
          errorBox(st.reportError, "report-error"),
          st.result.ok > 0 ? labelsExport() : null,
        )
      : null,
  );
}
