// Ledger › Settings: serial pattern (live preview of the next serials from the back-end),
// tariffs and the default one, supervisor PIN, auto-lock minutes (stored in the ledger and
// audited there), and this computer's language and theme (the sidebar's own widgets).

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { SettingsView } from "../lib/bindings/SettingsView";
import { checkAutolock, checkPinChange, checkTariffs, formatDuration, type PinForm, type TariffRow } from "../lib/admin";
import { h } from "../lib/dom";
import { t, type Key } from "../lib/i18n";
import type { Errors } from "../lib/validate";
import { update } from "../store";
import { errorBox, field, textInput } from "./common";
import { langSelect, themeButton } from "./prefs";
import { needsUnlock, setPinKnown } from "./transfer";
import { refreshLedger } from "./units";

type Section = "pattern" | "tariffs" | "pin" | "autolock";

interface SettingsState {
  view?: SettingsView;
  loading: boolean;
  loadError?: BackendError;
  pattern: string;
  preview: string[];
  previewError?: BackendError;
  tariffs: TariffRow[];
  defaultTariff: string;
  pin: PinForm;
  autolock: string;
  errors: Errors;
  busy?: Section;
  saved?: Section;
  error?: { section: Section; err: BackendError };
}

const st: SettingsState = {
  loading: false,
  pattern: "",
  preview: [],
  tariffs: [],
  defaultTariff: "",
  pin: { current: "", pin: "", again: "" },
  autolock: "",
  errors: {},
};

/** Fill the forms from what the ledger holds: all of them, or only the card just saved (the
 * others may hold edits not saved yet). */
function adopt(v: SettingsView, only?: Section): void {
  st.view = v;
  setPinKnown(v.supervisorPinSet);
  if (!only || only === "pattern") {
    st.pattern = v.serialPattern ?? "";
    st.preview = v.nextSerials;
    st.previewError = undefined;
  }
  if (!only || only === "tariffs") {
    st.tariffs = v.tariffs.map((x) => ({ name: x.name, days: x.daysPerUnit, currency: x.currency }));
    st.defaultTariff = v.defaultTariff ?? "";
  }
  if (!only || only === "autolock") st.autolock = v.autolockMinutes === null ? "" : String(v.autolockMinutes);
}

async function load(): Promise<void> {
  update(() => {
    st.loading = true;
    st.loadError = undefined;
  });
  try {
    const v = await backend.settingsGet();
    update(() => adopt(v));
  } catch (e) {
    const err = BackendError.from(e);
    update(() => (st.loadError = err));
    if (err.code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update(() => (st.loading = false));
  }
}

// Only the answer to the latest keystroke is shown (answers can arrive out of order), and
// the back-end is asked once typing pauses (each answer redraws the screen).
let previewSeq = 0;
let previewTimer: ReturnType<typeof setTimeout> | undefined;
const PREVIEW_DELAY_MS = 200;

function schedulePreview(pattern: string): void {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => void previewPattern(pattern), PREVIEW_DELAY_MS);
}

async function previewPattern(pattern: string): Promise<void> {
  const seq = ++previewSeq;
  try {
    const next = await backend.settingsSerialPreview(pattern);
    if (seq === previewSeq) update(() => ((st.preview = next), (st.previewError = undefined)));
  } catch (e) {
    if (seq === previewSeq) update(() => ((st.preview = []), (st.previewError = BackendError.from(e))));
  }
}

async function save(section: Section, f: () => Promise<SettingsView>): Promise<void> {
  update(() => {
    st.busy = section;
    st.saved = undefined;
    st.error = undefined;
  });
  try {
    const v = await f();
    update(() => {
      adopt(v, section);
      st.saved = section;
      if (section === "pin") st.pin = { current: "", pin: "", again: "" };
    });
  } catch (e) {
    const err = BackendError.from(e);
    update(() => (st.error = { section, err }));
    if (err.code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update(() => (st.busy = undefined));
  }
}

function invalid(errors: Errors): boolean {
  if (Object.keys(errors).length === 0) return false;
  update(() => (st.errors = errors));
  return true;
}

function footer(section: Section, testid: string): HTMLElement {
  return h(
    "div",
    { class: "buttons" },
    h("button", { type: "submit", class: "primary", disabled: st.busy === section, "data-testid": `${testid}-save` }, st.busy === section ? t("busy") : t("settings.save")),
    st.saved === section ? h("span", { class: "ok", role: "status", "data-testid": `${testid}-saved` }, t("settings.saved")) : null,
    st.error?.section === section ? errorBox(st.error.err, `${testid}-error`) : null,
  );
}

function form(onSubmit: () => void, ...children: (HTMLElement | null)[]): HTMLFormElement {
  return h(
    "form",
    {
      class: "form",
      novalidate: true,
      onsubmit: (e: Event) => {
        e.preventDefault();
        st.errors = {};
        onSubmit();
      },
    },
    ...children,
  );
}

function patternCard(v: SettingsView): HTMLElement {
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("settings.serialPattern")),
    h("p", { class: "muted" }, t("settings.serialHelp", { default: v.defaultSerialPattern })),
    form(
      () => void save("pattern", () => backend.settingsSetSerialPattern(st.pattern.trim() === "" ? null : st.pattern)),
      field(
        "serialPattern",
        "settings.serialPattern",
        textInput(
          "serialPattern",
          st.pattern,
          (val) => {
            st.pattern = val;
            schedulePreview(val);
          },
          { class: "mono", placeholder: v.defaultSerialPattern },
        ),
        st.errors,
      ),
      st.previewError
        ? errorBox(st.previewError, "settings-preview-error")
        : h("p", { class: "mono", "data-testid": "settings-preview" }, t("settings.nextSerials", { list: st.preview.join(", ") })),
      footer("pattern", "settings-pattern"),
    ),
  );
}

function tariffsCard(): HTMLElement {
  const rows = st.tariffs;
  // Redrawn as names are typed, so the default can be picked from them at once.
  const names = rows.map((r) => r.name.trim()).filter((n) => n !== "");
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("settings.tariffs")),
    h("p", { class: "muted" }, t("settings.tariffsHelp")),
    form(
      () => {
        const checked = checkTariffs(st.tariffs, st.defaultTariff);
        if (!checked.ok) {
          invalid(checked.errors);
          return;
        }
        void save("tariffs", () => backend.settingsSetTariffs(checked.value.tariffs, checked.value.default));
      },
      rows.length === 0
        ? h("p", { class: "muted", "data-testid": "tariffs-none" }, t("settings.noTariffs"))
        : h(
            "div",
            { class: "tariffs" },
            ...rows.map((r, i) =>
              h(
                "div",
                { class: "row", "data-testid": `tariff-row-${i}` },
                field(`tariff-name-${i}`, "settings.tariffName", textInput(`tariff-name-${i}`, r.name, (val) => update(() => (r.name = val))), st.errors),
                field(`tariff-days-${i}`, "settings.tariffDays", textInput(`tariff-days-${i}`, r.days, (val) => (r.days = val), { inputmode: "decimal" }), st.errors),
                field(`tariff-currency-${i}`, "settings.tariffCurrency", textInput(`tariff-currency-${i}`, r.currency, (val) => (r.currency = val), { maxlength: 3 }), st.errors),
                h("button", { type: "button", class: "small", "data-testid": `tariff-remove-${i}`, onclick: () => update(() => rows.splice(i, 1)) }, t("settings.remove")),
              ),
            ),
          ),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          { type: "button", "data-testid": "tariff-add", onclick: () => update(() => rows.push({ name: "", days: "", currency: "" })) },
          t("settings.addTariff"),
        ),
      ),
      field(
        "defaultTariff",
        "settings.defaultTariff",
        h(
          "select",
          { id: "defaultTariff", "data-testid": "default-tariff", onchange: (e: Event) => (st.defaultTariff = (e.target as HTMLSelectElement).value) },
          h("option", { value: "", selected: st.defaultTariff === "" }, t("settings.noDefault")),
          names.map((n) => h("option", { value: n, selected: n === st.defaultTariff }, n)),
        ),
        st.errors,
      ),
      footer("tariffs", "settings-tariffs"),
    ),
  );
}

function pinCard(v: SettingsView): HTMLElement {
  const p = st.pin;
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("settings.pin")),
    h("p", { class: "muted" }, t("settings.pinHelp")),
    h("p", { "data-testid": "pin-state" }, v.supervisorPinSet ? t("settings.pinIsSet") : t("settings.pinNotSet")),
    form(
      () => {
        const checked = checkPinChange(p, v.supervisorPinSet);
        if (!checked.ok) {
          invalid(checked.errors);
          return;
        }
        void save("pin", () => backend.settingsSetSupervisorPin(checked.value));
      },
      v.supervisorPinSet
        ? field("pinCurrent", "settings.pinCurrent", textInput("pinCurrent", p.current, (val) => (p.current = val), { type: "password", inputmode: "numeric" }), st.errors)
        : null,
      h(
        "div",
        { class: "row" },
        field("pinNew", "settings.pinNew", textInput("pinNew", p.pin, (val) => (p.pin = val), { type: "password", inputmode: "numeric" }), st.errors),
        field("pinAgain", "settings.pinAgain", textInput("pinAgain", p.again, (val) => (p.again = val), { type: "password", inputmode: "numeric" }), st.errors),
      ),
      footer("pin", "settings-pin"),
    ),
  );
}

function autolockCard(v: SettingsView): HTMLElement {
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("settings.autolock")),
    h("p", { class: "muted" }, t("settings.autolockHelp")),
    h(
      "p",
      { "data-testid": "autolock-now" },
      t("settings.autolockNow", { time: formatDuration(v.autolockEffectiveSecs), source: t(`settings.source.${v.autolockSource}` as Key) }),
    ),
    form(
      () => {
        const checked = checkAutolock(st.autolock);
        if (!checked.ok) {
          invalid(checked.errors);
          return;
        }
        void save("autolock", () => backend.settingsSetAutolock(checked.value));
      },
      field("autolock", "settings.autolockMinutes", textInput("autolock", st.autolock, (val) => (st.autolock = val), { inputmode: "numeric", placeholder: "10" }), st.errors),
      footer("autolock", "settings-autolock"),
    ),
  );
}

function appearanceCard(): HTMLElement {
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("settings.appearance")),
    h("div", { class: "prefs-inline" }, langSelect("settings-lang"), themeButton("settings-theme")),
  );
}

let loaded = false;

/** Navigated to Settings: read the ledger's values again (unsaved edits were left behind). */
export function settingsEntered(): void {
  if (!st.loading) loaded = false;
}

export function settingsScreen(): HTMLElement {
  const gate = needsUnlock();
  // Load once per visit while unlocked (and again after an unlock; see settingsEntered).
  if (gate) loaded = false;
  else if (!loaded && !st.loading) {
    loaded = true;
    void load();
  }
  const v = st.view;
  return h(
    "section",
    { class: "screen", "data-testid": "screen-settings" },
    h("h2", {}, t("settings.title")),
    h("p", { class: "muted" }, t("settings.intro")),
    gate,
    errorBox(st.loadError, "settings-error"),
    !gate && v ? h("div", { class: "admin-grid" }, patternCard(v), tariffsCard(), autolockCard(v), pinCard(v)) : null,
    appearanceCard(),
  );
}
