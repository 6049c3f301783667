// App shell: navigation (Fleet › Devices, Units, Overview; Station › Issue, Check, Flash &
// provision, Batch; Ledger › Import / export, Verify, Settings), language and theme.

import "./style.css";
import * as backend from "./lib/backend";
import { BackendError } from "./lib/backend";
import { h } from "./lib/dom";
import { pickLang, setLang, t, type Lang } from "./lib/i18n";
import { decodeScreen } from "./screens/decode";
import { devicesScreen, readDevice, refreshPorts, watchPorts } from "./screens/devices";
import { issueScreen } from "./screens/issue";
import { loadStats, overviewScreen } from "./screens/overview";
import { refreshLedger, unitsScreen } from "./screens/units";
import { batchScreen, stationScreen } from "./screens/station";
import { errorBox } from "./screens/common";
import { langSelect, themeButton } from "./screens/prefs";
import { settingsEntered, settingsScreen } from "./screens/settings";
import { transferScreen, verifyScreen } from "./screens/transfer";
import { setRenderer, state, update, type Screen } from "./store";

const root = document.getElementById("app")!;

function navButton(screen: Screen, label: string): HTMLElement {
  return h(
    "button",
    {
      class: state.screen === screen ? "nav active" : "nav",
      "aria-current": state.screen === screen ? "page" : undefined,
      "data-testid": `nav-${screen}`,
      onclick: () => {
        update((s) => (s.screen = screen));
        // Fleet › Overview: fresh numbers each time it is opened.
        if (screen === "overview") void loadStats();
      },
    },
    label,
  );
}

/** What each navigation entry draws. */
const SCREENS: Record<Screen, () => HTMLElement> = {
  devices: devicesScreen,
  units: unitsScreen,
  overview: overviewScreen,
  issue: issueScreen,
  decode: decodeScreen,
  station: stationScreen,
  batch: batchScreen,
  transfer: transferScreen,
  verify: verifyScreen,
  settings: settingsScreen,
};

/** The screen last drawn (a new screen starts at its top). */
let drawnScreen: Screen | undefined;

function render(): void {
  document.documentElement.lang = state.lang;
  document.documentElement.dataset.theme = state.theme;
  let screen: HTMLElement;
  // Settings changed elsewhere (the CLI, another window) show on each visit.
  if (state.screen === "settings" && drawnScreen !== "settings") settingsEntered();
  try {
    screen = SCREENS[state.screen]();
  } catch (e) {
    screen = h("section", { class: "screen" }, errorBox(BackendError.from(e)));
  }
  const shell = h(
    "div",
    { class: "shell" },
    h(
      "nav",
      { class: "sidebar" },
      h("h1", {}, t("app.title")),
      h("p", { class: "group" }, t("nav.fleet")),
      navButton("devices", t("nav.devices")),
      navButton("units", t("nav.units")),
      navButton("overview", t("nav.overview")),
      h("p", { class: "group" }, t("nav.station")),
      navButton("issue", t("nav.issue")),
      navButton("decode", t("nav.decode")),
      navButton("station", t("nav.stationFlash")),
      navButton("batch", t("nav.batch")),
      h("p", { class: "group" }, t("nav.ledger")),
      navButton("transfer", t("nav.transfer")),
      navButton("verify", t("nav.verify")),
      navButton("settings", t("nav.settings")),
      h("div", { class: "prefs" }, langSelect(), themeButton()),
    ),
    h("main", {}, errorBox(state.fatal, "fatal"), screen),
  );
  // Whole-screen redraws must not cost the user their typing: keep focus and caret.
  const focused = document.activeElement;
  const typing = (el: Element | null): el is HTMLInputElement | HTMLTextAreaElement =>
    el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement;
  const focusId = typing(focused) && focused.id ? focused.id : null;
  const caret = typing(focused) ? focused.selectionStart : null;
  // ...and their place on a long screen (the unit panel, the issued token).
  const scrollTop = drawnScreen === state.screen ? (root.querySelector("main")?.scrollTop ?? 0) : 0;
  drawnScreen = state.screen;
  root.replaceChildren(shell);
  shell.querySelector("main")?.scrollTo({ top: scrollTop });
  if (focusId) {
    const again = document.getElementById(focusId);
    if (typing(again)) {
      again.focus();
      if (caret !== null) again.setSelectionRange(caret, caret);
    }
  }
}

function init(): void {
  const lang = (localStorage.getItem("lang") as Lang | null) ?? pickLang(navigator.languages ?? []);
  setLang(lang);
  state.lang = lang;
  const theme = localStorage.getItem("theme");
  state.theme =
    theme === "dark" || theme === "light"
      ? theme
      : window.matchMedia?.("(prefers-color-scheme: dark)").matches
        ? "dark"
        : "light";
  setRenderer(render);
  // Never a blank screen: anything unexpected is shown with its code.
  window.addEventListener("error", (e) => update((s) => (s.fatal = BackendError.from(e.error ?? e.message))));
  window.addEventListener("unhandledrejection", (e) => update((s) => (s.fatal = BackendError.from(e.reason))));
  render();
  // When the first screen was drawn (ms since navigation), for the tests' timings.
  const painted = new Promise<number>((resolve) =>
    requestAnimationFrame(() => {
      const ms = performance.now();
      document.documentElement.dataset.firstPaintMs = String(Math.round(ms));
      resolve(ms);
    }),
  );
  void refreshPorts();
  watchPorts();
  // Whether a ledger exists decides what Fleet › Units shows first (create or unlock).
  // Drawn and answered by the back-end: interactive (reported for the start-up benchmark).
  void Promise.all([painted, refreshLedger()]).then(([ms]) => backend.appReady(ms).catch(() => {}));
  // Simulators still running (e.g. after a reload of the window).
  void backend
    .listSims()
    .then((sims) => {
      for (const sim of sims) {
        if (!state.devices.some((d) => d.port === sim.port)) {
          state.devices.push({ port: sim.port, busy: false, tokenInput: "", sim });
          void readDevice(sim.port);
        }
      }
      update();
    })
    .catch(() => {});
  void backend.onSimStopped((stopped) => {
    update((s) => {
      const d = s.devices.find((x) => x.sim?.id === stopped.id);
      if (d && stopped.error) d.error = BackendError.from(stopped.error);
    });
  });
}

init();
