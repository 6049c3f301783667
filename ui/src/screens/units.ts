// Fleet › Units: the ledger. Create or unlock it, list units (search, status, sortable
// columns, pages), show a unit (customer + tariff, status, payments, token history), find a
// unit by serial / customer / phone and issue its next token (recorded before it is shown),
// with the days an amount buys shown before issuing and a printable receipt.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { LedgerAction } from "../lib/bindings/LedgerAction";
import { h } from "../lib/dom";
import type { FleetSort } from "../lib/bindings/FleetSort";
import { creditLeft, formatDate, formatDays, nextSort, receiptRows, SORT_COLUMNS, sortMark } from "../lib/fleet";
import { groupDigits } from "../lib/format";
import { lang, t, type Key } from "../lib/i18n";
import {
  checkAddUnit,
  checkLedgerIssue,
  checkNewPassphrase,
  formatTime,
  LEDGER_ACTIONS,
  ledgerNeedsDays,
  ledgerNeedsSupervisor,
  PAGE_SIZE,
  pageCount,
  UNIT_STATUSES,
} from "../lib/ledger";
import { smsText } from "../lib/sms";
import { state, update } from "../store";
import { errorBox, field, textInput } from "./common";
import { copy } from "./issue";

export async function refreshLedger(): Promise<void> {
  try {
    const st = await backend.ledgerStatus();
    update((s) => (s.ledger = st));
    if (st.unlocked) await loadUnits();
  } catch (e) {
    update((s) => (s.ledgerError = BackendError.from(e)));
  }
}

async function openLedger(): Promise<void> {
  const creating = !state.ledger?.exists;
  if (creating) {
    const wrong = checkNewPassphrase(state.pass1, state.pass2);
    if (wrong) {
      update((s) => (s.passError = { pass1: wrong }));
      return;
    }
  }
  update((s) => {
    s.passError = undefined;
    s.ledgerError = undefined;
    s.ledgerBusy = true;
  });
  try {
    const st = creating ? await backend.ledgerCreate(state.pass1) : await backend.ledgerUnlock(state.pass1);
    update((s) => {
      s.ledger = st;
      s.pass1 = "";
      s.pass2 = "";
    });
    await loadUnits();
  } catch (e) {
    update((s) => (s.ledgerError = BackendError.from(e)));
  } finally {
    update((s) => (s.ledgerBusy = false));
  }
}

async function lockLedger(): Promise<void> {
  try {
    const st = await backend.ledgerLock();
    update((s) => {
      s.ledger = st;
      s.units = undefined;
      s.unit = undefined;
      s.lissued = undefined;
      s.fleetUnit = undefined;
      s.pickResults = undefined;
      s.lquote = undefined;
      s.stats = undefined;
    });
  } catch (e) {
    update((s) => (s.ledgerError = BackendError.from(e)));
  }
}

/** Answers can arrive out of order (two quick sort clicks): only the newest request's counts. */
let unitsRequest = 0;
let unitRequest = 0;

export async function loadUnits(page = state.unitsPage): Promise<void> {
  const mine = ++unitsRequest;
  try {
    const units = await backend.fleetUnits({
      search: state.unitsSearch,
      status: state.unitsStatus,
      sort: state.unitsSort.sort,
      descending: state.unitsSort.descending,
      page,
      pageSize: PAGE_SIZE,
    });
    if (mine !== unitsRequest) return;
    update((s) => {
      s.units = units;
      s.unitsPage = units.page;
      s.unitsError = undefined;
    });
  } catch (e) {
    if (mine !== unitsRequest) return;
    update((s) => (s.unitsError = BackendError.from(e)));
  }
}

export async function showUnit(serial: string): Promise<void> {
  const mine = ++unitRequest;
  try {
    const [unit, fleetUnit, settings] = await Promise.all([
      backend.unitDetail(serial),
      backend.fleetUnit(serial),
      // Only for the tariff plans offered when assigning: the detail shows without them.
      backend.settingsGet().catch(() => null),
    ]);
    if (mine !== unitRequest) return;
    update((s) => {
      if (settings) s.tariffPlans = settings.tariffs;
      if (s.unit?.serial !== serial) {
        // Another unit: nothing typed for the previous one carries over (the operator and the
        // kind of token do, they are the person's and the task's).
        s.lissue = { ...s.lissue, days: "7", amount: "", paymentRef: "", reason: "", supervisorPin: "" };
        s.lissueErrors = {};
        s.lissued = undefined;
        s.lissueError = undefined;
        s.lquote = undefined;
        s.lquoteError = undefined;
        s.assignError = undefined;
        s.assignErrors = {};
        s.statusError = undefined;
        s.statusErrors = {};
        s.statusChange = { status: "", operator: s.statusChange.operator, reason: "" };
        s.notesDraft = fleetUnit.notes ?? "";
        s.notesError = undefined;
        s.notesSaved = false;
        const c = fleetUnit.customer;
        s.assign = {
          name: c?.name ?? "",
          phone: c?.phone ?? "",
          tariff: fleetUnit.tariffDaysPerUnit === null ? "" : formatDays(fleetUnit.tariffDaysPerUnit),
          operator: s.assign.operator,
        };
      }
      s.unit = unit;
      s.fleetUnit = fleetUnit;
      s.unitError = undefined;
    });
  } catch (e) {
    if (mine !== unitRequest) return;
    update((s) => (s.unitError = BackendError.from(e)));
  }
}

async function issue(): Promise<void> {
  const serial = state.unit?.serial;
  if (!serial) return;
  const checked = checkLedgerIssue(serial, state.lissue);
  if (!checked.ok) {
    update((s) => (s.lissueErrors = checked.errors));
    return;
  }
  update((s) => {
    s.lissueErrors = {};
    s.lissueBusy = true;
    s.lissueError = undefined;
    s.copied = undefined;
  });
  try {
    const issued = await backend.ledgerIssue(checked.value);
    update((s) => {
      s.lissued = issued;
      s.lissue.paymentRef = "";
      s.lissue.supervisorPin = "";
      s.lissue.reason = "";
    });
    await showUnit(serial);
    await loadUnits();
    // The new token in view, not below the form (field staff read it out straight away).
    document.querySelector('[data-testid="lissued"]')?.scrollIntoView({ block: "nearest" });
  } catch (e) {
    update((s) => {
      s.lissueError = BackendError.from(e);
      s.lissued = undefined;
    });
    // Auto-locked while idle: show the unlock form.
    if (BackendError.from(e).code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update((s) => (s.lissueBusy = false));
  }
}

// Whole-screen redraws rebuild <details>: remember which ones the user opened or closed.
const detailsState = new Map<string, boolean>();

function details(id: string, openByDefault: boolean): Record<string, unknown> {
  return {
    open: (detailsState.get(id) ?? openByDefault) ? true : undefined,
    ontoggle: (e: Event) => detailsState.set(id, (e.target as HTMLDetailsElement).open),
  };
}

function sortBy(column: FleetSort): void {
  state.unitsSort = nextSort(state.unitsSort, column);
  void loadUnits(1);
}

let pickTimer: ReturnType<typeof setTimeout> | undefined;

/** Find units by serial, customer name or phone as the operator types (a short pause first). */
function schedulePick(): void {
  clearTimeout(pickTimer);
  pickTimer = setTimeout(() => void pick(), 200);
}

async function pick(): Promise<void> {
  const search = state.pickSearch.trim();
  if (search === "") {
    update((s) => {
      s.pickResults = undefined;
      s.pickError = undefined;
    });
    return;
  }
  try {
    const page = await backend.fleetUnits({ search, status: null, sort: "serial", descending: false, page: 1, pageSize: 8 });
    if (state.pickSearch.trim() !== search) return;
    update((s) => {
      s.pickResults = page.units;
      s.pickError = undefined;
    });
  } catch (e) {
    update((s) => (s.pickError = BackendError.from(e)));
    if (BackendError.from(e).code === "LEDGER_CLOSED") await refreshLedger();
  }
}

let quoteTimer: ReturnType<typeof setTimeout> | undefined;

/** What the typed amount buys on this unit, asked of the ledger (its tariff and rounding). */
function scheduleQuote(): void {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(() => void quote(), 200);
}

async function quote(): Promise<void> {
  const serial = state.unit?.serial;
  const amount = state.lissue.amount.trim();
  if (!serial || state.lissue.action !== "ADD_AMOUNT" || !/^\d+(\.\d{1,3})?$/.test(amount)) {
    if (state.lquote || state.lquoteError)
      update((s) => {
        s.lquote = undefined;
        s.lquoteError = undefined;
      });
    return;
  }
  try {
    const q = await backend.fleetQuote(serial, amount);
    if (state.unit?.serial !== serial || state.lissue.amount.trim() !== amount) return;
    update((s) => {
      s.lquote = q;
      s.lquoteError = undefined;
    });
  } catch (e) {
    update((s) => {
      s.lquote = undefined;
      s.lquoteError = BackendError.from(e);
    });
  }
}

async function saveCustomer(): Promise<void> {
  const serial = state.unit?.serial;
  if (!serial) return;
  const f = state.assign;
  const errors: Record<string, Key> = {};
  if (f.name.trim() === "") errors.customerName = "valid.customer";
  if (f.tariff.trim() !== "" && !/^\d+(\.\d+)?$/.test(f.tariff.trim())) errors.tariff = "valid.tariff";
  if (Object.keys(errors).length > 0) {
    update((s) => (s.assignErrors = errors));
    return;
  }
  update((s) => {
    s.assignErrors = {};
    s.assignError = undefined;
    s.assignBusy = true;
  });
  try {
    await backend.fleetAssign({
      serial,
      name: f.name.trim(),
      phone: f.phone.trim() === "" ? null : f.phone.trim(),
      tariff: f.tariff.trim() === "" ? null : f.tariff.trim(),
      operator: f.operator.trim() === "" ? null : f.operator.trim(),
    });
    await showUnit(serial);
    await loadUnits();
    scheduleQuote();
  } catch (e) {
    update((s) => (s.assignError = BackendError.from(e)));
    if (BackendError.from(e).code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update((s) => (s.assignBusy = false));
  }
}

async function changeStatus(): Promise<void> {
  const serial = state.unit?.serial;
  if (!serial) return;
  const f = state.statusChange;
  const errors: Record<string, Key> = {};
  if (f.status === "") errors.newStatus = "valid.required";
  if (f.operator.trim() === "") errors.statusOperator = "valid.required";
  if (f.reason.trim() === "") errors.statusReason = "valid.required";
  if (Object.keys(errors).length > 0) {
    update((s) => (s.statusErrors = errors));
    return;
  }
  update((s) => {
    s.statusErrors = {};
    s.statusError = undefined;
    s.statusBusy = true;
  });
  try {
    await backend.fleetSetStatus({ serial, status: f.status, operator: f.operator.trim(), reason: f.reason.trim() });
    update((s) => (s.statusChange = { status: "", operator: f.operator, reason: "" }));
    await showUnit(serial);
    await loadUnits();
  } catch (e) {
    update((s) => (s.statusError = BackendError.from(e)));
    if (BackendError.from(e).code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update((s) => (s.statusBusy = false));
  }
}

/** The ledger's limit (paygo `ledger::NOTES_MAX`, characters). */
const NOTES_MAX = 2000;

async function saveNotes(): Promise<void> {
  const serial = state.unit?.serial;
  if (!serial) return;
  const notes = state.notesDraft;
  update((s) => {
    s.notesError = undefined;
    s.notesBusy = true;
    s.notesSaved = false;
  });
  try {
    // The operator of the status form, if one was typed: the audit row names who wrote it.
    const operator = state.statusChange.operator.trim() || state.assign.operator.trim() || null;
    const fu = await backend.fleetSetNotes({ serial, notes, operator });
    // Another unit opened meanwhile: its panel is not this answer's.
    if (state.unit?.serial !== serial) return;
    update((s) => {
      s.fleetUnit = fu;
      s.notesDraft = fu.notes ?? "";
      s.notesSaved = true;
    });
  } catch (e) {
    if (state.unit?.serial !== serial) return;
    update((s) => (s.notesError = BackendError.from(e)));
    if (BackendError.from(e).code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update((s) => (s.notesBusy = false));
  }
}

async function addUnit(): Promise<void> {
  const checked = checkAddUnit(state.addUnit);
  if (!checked.ok) {
    update((s) => (s.addUnitErrors = checked.errors));
    return;
  }
  update((s) => {
    s.addUnitErrors = {};
    s.addUnitError = undefined;
    s.addUnitBusy = true;
  });
  try {
    const { serial, key, startingCode } = checked.value;
    await backend.unitAdd(serial, key, startingCode);
    update((s) => (s.addUnit = { serial: "", key: "", startingCode: "" }));
    // Through showUnit: the customer / status / payments part comes with it.
    await showUnit(serial);
    await loadUnits();
  } catch (e) {
    update((s) => (s.addUnitError = BackendError.from(e)));
  } finally {
    update((s) => (s.addUnitBusy = false));
  }
}

function addUnitForm(): HTMLElement {
  const f = state.addUnit;
  return h(
    "details",
    { class: "add-unit", ...details("add-unit", state.units?.total === 0) },
    h("summary", { "data-testid": "add-unit-open" }, t("units.add")),
    h("p", { class: "muted" }, t("units.addIntro")),
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void addUnit();
        },
      },
      h(
        "div",
        { class: "row" },
        field("newSerial", "units.newSerial", textInput("newSerial", f.serial, (v) => (f.serial = v)), state.addUnitErrors),
        field("newStartingCode", "form.startingCode", textInput("newStartingCode", f.startingCode, (v) => (f.startingCode = v), { inputmode: "numeric" }), state.addUnitErrors),
      ),
      field("newKey", "form.key", textInput("newKey", f.key, (v) => (f.key = v), { class: "mono", type: "password" }), state.addUnitErrors),
      h("button", { type: "submit", disabled: state.addUnitBusy, "data-testid": "add-unit-submit" }, state.addUnitBusy ? t("busy") : t("units.add")),
    ),
    errorBox(state.addUnitError, "add-unit-error"),
  );
}

function passInput(id: "pass1" | "pass2"): HTMLInputElement {
  return textInput(id, state[id], (v) => (state[id] = v), { type: "password", autocomplete: "off" });
}

function ledgerForm(): HTMLElement {
  const exists = state.ledger?.exists ?? false;
  return h(
    "section",
    { class: "screen", "data-testid": "screen-ledger" },
    h("h2", {}, t("ledger.title")),
    h("p", { class: "muted" }, exists ? t("ledger.unlockIntro") : t("ledger.createIntro")),
    state.ledger ? h("p", { class: "muted", "data-testid": "ledger-path" }, t("ledger.path", { path: state.ledger.path })) : null,
    h(
      "form",
      {
        class: "form narrow",
        novalidate: true,
        "data-testid": exists ? "ledger-unlock-form" : "ledger-create-form",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void openLedger();
        },
      },
      field("pass1", "ledger.passphrase", passInput("pass1"), state.passError ?? {}),
      exists ? null : field("pass2", "ledger.passphraseAgain", passInput("pass2"), {}),
      h(
        "button",
        { type: "submit", class: "primary", disabled: state.ledgerBusy, "data-testid": "ledger-submit" },
        state.ledgerBusy ? t("busy") : exists ? t("ledger.unlock") : t("ledger.create"),
      ),
    ),
    errorBox(state.ledgerError, "ledger-error"),
  );
}

function headerCell(column: FleetSort): HTMLElement {
  const label = t(SORT_COLUMNS.find((c) => c.sort === column)?.label ?? "units.serial");
  const mark = sortMark(state.unitsSort, column);
  return h(
    "th",
    { "aria-sort": mark.aria },
    h(
      "button",
      {
        class: "sort",
        type: "button",
        title: t("fleet.sortBy", { column: label }),
        "data-testid": `sort-${column}`,
        onclick: () => sortBy(column),
      },
      label,
      mark.arrow ? ` ${mark.arrow}` : "",
    ),
  );
}

/** Credit end as a date, with what is left (or "expired"). */
function creditText(creditUntil: number | null): string {
  const left = creditLeft(creditUntil, Date.now() / 1000);
  if (creditUntil === null || left === null) return "";
  const when = formatTime(creditUntil);
  return left.expired ? `${when} (${t("fleet.expired")})` : `${when} (${t("fleet.left", { days: left.days, hours: left.hours })})`;
}

/** The table's compact form: the date, what is left below it. */
function creditCell(creditUntil: number | null): (HTMLElement | string)[] {
  const left = creditLeft(creditUntil, Date.now() / 1000);
  if (creditUntil === null || left === null) return [];
  return [
    formatDate(creditUntil),
    h("br", {}),
    h("small", { class: left.expired ? "expired" : "muted" }, left.expired ? t("fleet.expired") : t("fleet.left", { days: left.days, hours: left.hours })),
  ];
}

function unitsTable(): HTMLElement {
  const page = state.units;
  const pages = page ? pageCount(page.total, page.pageSize) : 1;
  return h(
    "div",
    {},
    h(
      "form",
      {
        class: "row",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void loadUnits(1);
        },
      },
      textInput("unitsSearch", state.unitsSearch, (v) => (state.unitsSearch = v), { placeholder: t("units.search") }),
      h(
        "select",
        {
          id: "unitsStatus",
          "data-testid": "unitsStatus",
          "aria-label": t("units.status"),
          onchange: (e: Event) => {
            state.unitsStatus = (e.target as HTMLSelectElement).value;
            void loadUnits(1);
          },
        },
        h("option", { value: "", selected: state.unitsStatus === "" }, t("units.allStatuses")),
        UNIT_STATUSES.map((st) => h("option", { value: st, selected: st === state.unitsStatus }, st)),
      ),
      h("button", { type: "submit", "data-testid": "units-search" }, t("units.find")),
    ),
    errorBox(state.unitsError, "units-error"),
    page && page.units.length === 0 ? h("p", { class: "muted", "data-testid": "units-none" }, t("units.none")) : null,
    page && page.units.length > 0
      ? h(
          "table",
          { class: "units", "data-testid": "units-table" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              headerCell("serial"),
              h("th", {}, t("units.model")),
              headerCell("status"),
              h("th", {}, t("units.count")),
              headerCell("customer"),
              headerCell("credit_until"),
              headerCell("last_token"),
            ),
          ),
          h(
            "tbody",
            {},
            page.units.map((u) =>
              h(
                "tr",
                {
                  class: state.unit?.serial === u.serial ? "selected" : undefined,
                  "data-testid": `unit-row-${u.serial}`,
                  tabindex: 0,
                  onclick: () => void showUnit(u.serial),
                  onkeydown: (e: KeyboardEvent) => {
                    if (e.key === "Enter") void showUnit(u.serial);
                  },
                },
                h("td", { class: "mono" }, u.serial),
                h("td", {}, u.model ?? ""),
                h("td", {}, u.status),
                h("td", {}, u.count),
                h("td", {}, u.customer ?? "", u.phone ? h("small", { class: "muted" }, ` ${u.phone}`) : null),
                h("td", { "data-testid": `credit-${u.serial}` }, creditCell(u.creditUntil)),
                h("td", {}, u.lastTokenAt === null ? "" : formatDate(u.lastTokenAt)),
              ),
            ),
          ),
        )
      : null,
    page
      ? h(
          "div",
          { class: "row pager" },
          h(
            "button",
            { class: "small", disabled: page.page <= 1, "data-testid": "units-prev", onclick: () => void loadUnits(page.page - 1) },
            t("units.prev"),
          ),
          h("span", { class: "muted", "data-testid": "units-page" }, t("units.page", { page: page.page, pages, total: page.total })),
          h(
            "button",
            { class: "small", disabled: page.page >= pages, "data-testid": "units-next", onclick: () => void loadUnits(page.page + 1) },
            t("units.next"),
          ),
        )
      : null,
  );
}

function issuedCard(): HTMLElement | null {
  const issued = state.lissued;
  const u = state.unit;
  if (!issued || !u || issued.serial !== u.serial) return null;
  const sms = smsText(lang(), issued.token);
  const grouped = groupDigits(issued.token);
  // The receipt reads the committed token back from the history (date and payment reference
  // of the original for a repeated reference).
  const stored = u.tokens.find((tk) => tk.count === issued.count);
  const receipt = receiptRows({
    serial: issued.serial,
    customer: state.fleetUnit?.serial === u.serial ? (state.fleetUnit.customer?.name ?? null) : (u.customer ?? null),
    grouped,
    days: issued.days,
    issuedAt: stored?.createdAt ?? Math.floor(Date.now() / 1000),
    paymentRef: stored?.paymentRef ?? null,
  });
  return h(
    "div",
    { class: "card issued", "data-testid": "lissued" },
    h("span", { class: "muted" }, t("issue.token")),
    h(
      "output",
      { class: issued.token.length > 12 ? "token long" : "token", "data-testid": "lissued-token", "data-digits": issued.token },
      grouped,
    ),
    issued.days !== null
      ? h("p", { class: "token-days", "data-testid": "lissued-days" }, t("issue.daysOnToken", { days: formatDays(issued.days) }))
      : null,
    h("p", { class: "muted" }, t("issue.details", { count: issued.count, type: issued.tokenType, value: issued.value })),
    issued.idempotent ? h("p", { class: "result", "data-testid": "lissued-idempotent" }, t("issue.idempotent")) : null,
    issued.warnings.length > 0
      ? h(
          "div",
          { class: "warnings", "data-testid": "lissued-warnings" },
          h("strong", {}, t("issue.warnings")),
          h(
            "ul",
            {},
            issued.warnings.map((w) => h("li", {}, h("code", {}, w.code), " ", w.message, " ", h("em", {}, w.advice))),
          ),
        )
      : null,
    h(
      "div",
      { class: "buttons" },
      h("button", { onclick: () => void copy("token", issued.token), "data-testid": "lcopy-token" }, state.copied === "token" ? t("issue.copied") : t("issue.copy")),
      h("button", { onclick: () => void copy("sms", sms) }, state.copied === "sms" ? t("issue.copied") : t("issue.copySms")),
      h("button", { onclick: () => window.print(), "data-testid": "lprint" }, t("issue.print")),
    ),
    h("span", { class: "muted" }, t("issue.sms")),
    h("p", { class: "sms", "data-testid": "lissued-sms" }, sms),
    // What Print puts on paper (the print stylesheet hides everything else).
    h(
      "div",
      { class: "receipt", "data-testid": "receipt" },
      h("h4", {}, t("issue.receipt")),
      h(
        "dl",
        { class: "facts" },
        receipt.map(([k, v]) => [h("dt", {}, t(k)), h("dd", { class: k === "issue.token" ? "receipt-token mono" : undefined }, v)]),
      ),
    ),
  );
}

function unitPicker(): HTMLElement {
  const results = state.pickResults;
  return h(
    "div",
    { class: "picker" },
    h("h4", {}, t("pick.title")),
    textInput(
      "pickSearch",
      state.pickSearch,
      (v) => {
        state.pickSearch = v;
        schedulePick();
      },
      { placeholder: t("pick.search"), type: "search" },
    ),
    errorBox(state.pickError, "pick-error"),
    results && results.length === 0 ? h("p", { class: "muted", "data-testid": "pick-none" }, t("pick.none")) : null,
    results && results.length > 0
      ? h(
          "ul",
          { class: "pick-list", "data-testid": "pick-results" },
          results.map((r) =>
            h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: state.unit?.serial === r.serial ? "pick active" : "pick",
                  "data-testid": `pick-${r.serial}`,
                  onclick: () => void showUnit(r.serial),
                },
                h("span", { class: "mono" }, r.serial),
                " ",
                h("span", {}, r.customer ?? ""),
                " ",
                h("small", { class: "muted" }, r.phone ?? ""),
                " ",
                h("small", { class: "muted" }, r.status),
              ),
            ),
          ),
        )
      : null,
  );
}

function customerSection(): HTMLElement | null {
  const fu = state.fleetUnit;
  const u = state.unit;
  if (!fu || !u || fu.serial !== u.serial) return null;
  const f = state.assign;
  const c = fu.customer;
  return h(
    "div",
    { class: "unit-facts" },
    h(
      "dl",
      { class: "facts", "data-testid": "unit-facts" },
      h("dt", {}, t("units.status")),
      h("dd", { "data-testid": "unit-status" }, fu.status),
      h("dt", {}, t("unit.customer")),
      h("dd", { "data-testid": "unit-customer" }, c ? c.name : t("unit.noCustomer")),
      c?.phone ? [h("dt", {}, t("unit.phone")), h("dd", { "data-testid": "unit-phone" }, c.phone)] : null,
      h("dt", {}, t("unit.tariff")),
      h(
        "dd",
        { "data-testid": "unit-tariff" },
        fu.tariffDaysPerUnit === null ? t("unit.noTariff") : t("unit.tariffValue", { days: formatDays(fu.tariffDaysPerUnit) }),
      ),
      h("dt", {}, t("fleet.creditUntil")),
      h("dd", { "data-testid": "unit-credit" }, creditText(fu.creditUntil) || "—"),
      h("dt", {}, t("fleet.lastToken")),
      h("dd", {}, fu.lastTokenAt === null ? "—" : formatTime(fu.lastTokenAt)),
      fu.restricted ? [h("dt", {}, t("form.restricted")), h("dd", {}, t("unit.restricted"))] : null,
      fu.notes ? [h("dt", {}, t("unit.notes")), h("dd", { "data-testid": "unit-notes" }, fu.notes)] : null,
    ),
    h(
      "details",
      { class: "unit-edit", ...details(`assign-${fu.serial}`, c === null) },
      h("summary", { "data-testid": "assign-open" }, t("unit.assign")),
      h(
        "form",
        {
          class: "form",
          novalidate: true,
          onsubmit: (e: Event) => {
            e.preventDefault();
            void saveCustomer();
          },
        },
        h(
          "div",
          { class: "row" },
          field("customerName", "unit.name", textInput("customerName", f.name, (v) => (f.name = v)), state.assignErrors),
          field("customerPhone", "unit.phone", textInput("customerPhone", f.phone, (v) => (f.phone = v), { inputmode: "tel" }), state.assignErrors),
        ),
        h(
          "div",
          { class: "row" },
          field("tariff", "unit.tariff", textInput("tariff", f.tariff, (v) => (f.tariff = v), { inputmode: "decimal" }), state.assignErrors),
          state.tariffPlans.length > 0
            ? h(
                "label",
                { class: "field" },
                h("span", {}, t("unit.tariffPlan")),
                h(
                  "select",
                  {
                    "data-testid": "tariff-plan",
                    onchange: (e: Event) => {
                      const plan = state.tariffPlans.find((p) => p.name === (e.target as HTMLSelectElement).value);
                      if (plan) update(() => (f.tariff = plan.daysPerUnit));
                    },
                  },
                  h("option", { value: "" }, "—"),
                  state.tariffPlans.map((p) =>
                    h(
                      "option",
                      { value: p.name, selected: p.daysPerUnit === f.tariff },
                      `${p.name} (${p.daysPerUnit} / ${p.currency || "1"})`,
                    ),
                  ),
                ),
              )
            : null,
          field("assignOperator", "form.operator", textInput("assignOperator", f.operator, (v) => (f.operator = v)), state.assignErrors),
        ),
        h("button", { type: "submit", disabled: state.assignBusy, "data-testid": "assign-submit" }, state.assignBusy ? t("busy") : t("unit.assignSubmit")),
      ),
      errorBox(state.assignError, "assign-error"),
    ),
    fu.nextStatuses.length > 0
      ? h(
          "details",
          { class: "unit-edit", ...details("status", false) },
          h("summary", { "data-testid": "status-open" }, t("unit.changeStatus")),
          h(
            "form",
            {
              class: "form",
              novalidate: true,
              onsubmit: (e: Event) => {
                e.preventDefault();
                void changeStatus();
              },
            },
            h(
              "div",
              { class: "row" },
              field(
                "newStatus",
                "unit.newStatus",
                h(
                  "select",
                  {
                    id: "newStatus",
                    "data-testid": "newStatus",
                    onchange: (e: Event) => (state.statusChange.status = (e.target as HTMLSelectElement).value),
                  },
                  h("option", { value: "", selected: state.statusChange.status === "" }, "—"),
                  fu.nextStatuses.map((st) => h("option", { value: st, selected: st === state.statusChange.status }, st)),
                ),
                state.statusErrors,
              ),
              field(
                "statusOperator",
                "form.operator",
                textInput("statusOperator", state.statusChange.operator, (v) => (state.statusChange.operator = v)),
                state.statusErrors,
              ),
            ),
            field("statusReason", "form.reason", textInput("statusReason", state.statusChange.reason, (v) => (state.statusChange.reason = v)), state.statusErrors),
            h("button", { type: "submit", disabled: state.statusBusy, "data-testid": "status-submit" }, state.statusBusy ? t("busy") : t("unit.statusSubmit")),
          ),
          errorBox(state.statusError, "status-error"),
        )
      : null,
    h(
      "details",
      { class: "unit-edit", ...details("notes", false) },
      h("summary", { "data-testid": "notes-open" }, t("unit.notesEdit")),
      h(
        "form",
        {
          class: "form",
          novalidate: true,
          onsubmit: (e: Event) => {
            e.preventDefault();
            void saveNotes();
          },
        },
        h(
          "textarea",
          {
            id: "notesText",
            "data-testid": "notesText",
            "aria-label": t("unit.notes"),
            rows: 4,
            maxlength: NOTES_MAX,
            placeholder: t("unit.notesPlaceholder"),
            oninput: (e: Event) => {
              state.notesDraft = (e.target as HTMLTextAreaElement).value;
              // Typing makes the text unsaved again (without a redraw per keystroke).
              state.notesSaved = false;
              document.querySelector('[data-testid="notes-saved"]')?.remove();
            },
          },
          state.notesDraft,
        ),
        h(
          "div",
          { class: "buttons" },
          h("button", { type: "submit", disabled: state.notesBusy, "data-testid": "notes-submit" }, state.notesBusy ? t("busy") : t("unit.notesSave")),
          state.notesSaved ? h("span", { class: "muted", "data-testid": "notes-saved" }, t("unit.notesSaved")) : null,
        ),
      ),
      errorBox(state.notesError, "notes-error"),
    ),
  );
}

function paymentsTable(): HTMLElement | null {
  const fu = state.fleetUnit;
  if (!fu || fu.serial !== state.unit?.serial) return null;
  return h(
    "div",
    {},
    h("h4", {}, t("unit.payments")),
    fu.payments.length === 0
      ? h("p", { class: "muted", "data-testid": "payments-none" }, t("unit.noPayments"))
      : h(
          "table",
          { class: "history", "data-testid": "payments" },
          h(
            "thead",
            {},
            h("tr", {}, (["unit.paymentRef", "form.amount", "form.days", "units.count", "unit.when"] as Key[]).map((k) => h("th", {}, t(k)))),
          ),
          h(
            "tbody",
            {},
            fu.payments.map((p) =>
              h(
                "tr",
                { "data-testid": `payment-${p.count}` },
                h("td", {}, p.paymentRef ?? ""),
                h("td", {}, p.amount ?? ""),
                h("td", {}, p.days === null ? "" : formatDays(p.days)),
                h("td", {}, p.count),
                h("td", {}, formatTime(p.createdAt)),
              ),
            ),
          ),
        ),
  );
}

function quoteLine(): HTMLElement | null {
  if (state.lissue.action !== "ADD_AMOUNT") return null;
  const fu = state.fleetUnit;
  if (fu && fu.serial === state.unit?.serial && fu.tariffDaysPerUnit === null)
    return h("p", { class: "muted", "data-testid": "lquote-notariff" }, t("unit.noTariff"));
  if (state.lquoteError) return errorBox(state.lquoteError, "lquote-error");
  const q = state.lquote;
  if (!q || q.serial !== state.unit?.serial) return null;
  return h(
    "p",
    { class: "quote", "data-testid": "lquote", "data-days": q.days },
    t("issue.quote", { days: formatDays(q.days), tariff: formatDays(q.tariffDaysPerUnit) }),
  );
}

function unitPanel(): HTMLElement {
  const u = state.unit;
  if (!u)
    return h(
      "div",
      { class: "token-panel" },
      unitPicker(),
      errorBox(state.unitError, "unit-error"),
      h("p", { class: "muted" }, t("units.pick")),
    );
  const f = state.lissue;
  return h(
    "div",
    { class: "unit-panel", "data-testid": "unit-detail" },
    unitPicker(),
    h("h3", { class: "mono" }, u.serial, u.model ? ` · ${u.model}` : ""),
    h("p", { class: "muted" }, t("unit.summary", { status: u.status, count: u.count, tokens: u.tokensIssued }), u.customer ? ` · ${u.customer}` : ""),
    errorBox(state.unitError, "unit-error"),
    customerSection(),
    h("h4", {}, t("unit.issue")),
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void issue();
        },
      },
      h(
        "div",
        { class: "row" },
        field(
          "laction",
          "form.action",
          h(
            "select",
            {
              id: "laction",
              "data-testid": "laction",
              onchange: (e: Event) => {
                update(() => (f.action = (e.target as HTMLSelectElement).value as LedgerAction));
                scheduleQuote();
              },
            },
            LEDGER_ACTIONS.map((a) => h("option", { value: a, selected: a === f.action }, t(`action.${a}` as const))),
          ),
          state.lissueErrors,
        ),
        ledgerNeedsDays(f.action)
          ? field("ldays", "form.days", textInput("ldays", f.days, (v) => (f.days = v), { inputmode: "decimal" }), state.lissueErrors)
          : null,
        field(
          "amount",
          "form.amount",
          textInput(
            "amount",
            f.amount,
            (v) => {
              f.amount = v;
              scheduleQuote();
            },
            { inputmode: "decimal" },
          ),
          state.lissueErrors,
        ),
      ),
      quoteLine(),
      h(
        "div",
        { class: "row" },
        field("paymentRef", "form.paymentRef", textInput("paymentRef", f.paymentRef, (v) => (f.paymentRef = v)), state.lissueErrors),
        field("operator", "form.operator", textInput("operator", f.operator, (v) => (f.operator = v)), state.lissueErrors),
      ),
      ledgerNeedsSupervisor(f.action)
        ? h(
            "div",
            { class: "row", "data-testid": "supervisor-fields" },
            field(
              "supervisorPin",
              "form.supervisorPin",
              textInput("supervisorPin", f.supervisorPin, (v) => (f.supervisorPin = v), {
                type: "password",
                inputmode: "numeric",
                autocomplete: "off",
              }),
              state.lissueErrors,
            ),
            field("reason", "form.reason", textInput("reason", f.reason, (v) => (f.reason = v)), state.lissueErrors),
          )
        : null,
      h(
        "button",
        { type: "submit", class: "primary big", disabled: state.lissueBusy, "data-testid": "lissue-submit" },
        state.lissueBusy ? t("busy") : t("issue.submit"),
      ),
    ),
    errorBox(state.lissueError, "lissue-error"),
    issuedCard(),
    paymentsTable(),
    h("h4", {}, t("unit.history")),
    u.tokens.length === 0
      ? h("p", { class: "muted", "data-testid": "history-none" }, t("unit.noTokens"))
      : h(
          "table",
          { class: "history", "data-testid": "history" },
          h(
            "thead",
            {},
            h("tr", {}, ["units.count", "unit.type", "issue.token", "form.amount", "unit.paymentRef", "unit.operator", "unit.when"].map((k) => h("th", {}, t(k as never)))),
          ),
          h(
            "tbody",
            {},
            u.tokens.map((tk) =>
              h(
                "tr",
                { "data-testid": `history-${tk.count}` },
                h("td", {}, tk.count),
                h("td", {}, tk.tokenType, tk.days !== null ? ` (${tk.days})` : ""),
                h("td", { class: "mono", "data-digits": tk.token }, groupDigits(tk.token)),
                h("td", {}, tk.amount ?? ""),
                h("td", {}, tk.paymentRef ?? ""),
                h("td", {}, tk.operator ?? ""),
                h("td", {}, formatTime(tk.createdAt)),
              ),
            ),
          ),
        ),
  );
}

export function unitsScreen(): HTMLElement {
  if (!state.ledger?.unlocked) return ledgerForm();
  return h(
    "section",
    { class: "screen two-col units-screen", "data-testid": "screen-units" },
    h(
      "div",
      {},
      h(
        "div",
        { class: "row" },
        h("h2", {}, t("units.title")),
        h("button", { class: "small", "data-testid": "ledger-lock", onclick: () => void lockLedger() }, t("ledger.lock")),
      ),
      h("p", { class: "muted", "data-testid": "ledger-path" }, t("ledger.path", { path: state.ledger.path })),
      unitsTable(),
      addUnitForm(),
    ),
    unitPanel(),
  );
}
