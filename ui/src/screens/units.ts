// Fleet › Units: the ledger. Create or unlock it, list units (search, status, pages), show a
// unit's token history and issue its next token (recorded before it is shown).

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { LedgerAction } from "../lib/bindings/LedgerAction";
import { h } from "../lib/dom";
import { groupDigits } from "../lib/format";
import { lang, t } from "../lib/i18n";
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
    });
  } catch (e) {
    update((s) => (s.ledgerError = BackendError.from(e)));
  }
}

export async function loadUnits(page = state.unitsPage): Promise<void> {
  try {
    const units = await backend.unitsList(state.unitsSearch, state.unitsStatus, page, PAGE_SIZE);
    update((s) => {
      s.units = units;
      s.unitsPage = units.page;
      s.unitsError = undefined;
    });
  } catch (e) {
    update((s) => (s.unitsError = BackendError.from(e)));
  }
}

async function showUnit(serial: string): Promise<void> {
  try {
    const unit = await backend.unitDetail(serial);
    update((s) => {
      if (s.unit?.serial !== serial) {
        s.lissued = undefined;
        s.lissueError = undefined;
      }
      s.unit = unit;
      s.unitError = undefined;
    });
  } catch (e) {
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
    const unit = await backend.unitAdd(serial, key, startingCode);
    update((s) => {
      s.addUnit = { serial: "", key: "", startingCode: "" };
      s.unit = unit;
      s.lissued = undefined;
    });
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
    { class: "add-unit", open: state.units?.total === 0 ? true : undefined },
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
            h("tr", {}, ["units.serial", "units.model", "units.status", "units.count", "units.customer"].map((k) => h("th", {}, t(k as never)))),
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
                h("td", {}, u.customer ?? ""),
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
  if (!issued || issued.serial !== state.unit?.serial) return null;
  const sms = smsText(lang(), issued.token);
  return h(
    "div",
    { class: "card issued", "data-testid": "lissued" },
    h("span", { class: "muted" }, t("issue.token")),
    h("output", { class: "token", "data-testid": "lissued-token", "data-digits": issued.token }, groupDigits(issued.token)),
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
    ),
    h("span", { class: "muted" }, t("issue.sms")),
    h("p", { class: "sms", "data-testid": "lissued-sms" }, sms),
  );
}

function unitPanel(): HTMLElement {
  const u = state.unit;
  if (!u) return h("div", { class: "token-panel" }, errorBox(state.unitError, "unit-error"), h("p", { class: "muted" }, t("units.pick")));
  const f = state.lissue;
  return h(
    "div",
    { class: "unit-panel", "data-testid": "unit-detail" },
    h("h3", { class: "mono" }, u.serial, u.model ? ` · ${u.model}` : ""),
    h("p", { class: "muted" }, t("unit.summary", { status: u.status, count: u.count, tokens: u.tokensIssued }), u.customer ? ` · ${u.customer}` : ""),
    errorBox(state.unitError, "unit-error"),
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
              onchange: (e: Event) => update(() => (f.action = (e.target as HTMLSelectElement).value as LedgerAction)),
            },
            LEDGER_ACTIONS.map((a) => h("option", { value: a, selected: a === f.action }, t(`action.${a}` as const))),
          ),
          state.lissueErrors,
        ),
        ledgerNeedsDays(f.action)
          ? field("ldays", "form.days", textInput("ldays", f.days, (v) => (f.days = v), { inputmode: "decimal" }), state.lissueErrors)
          : null,
        field("amount", "form.amount", textInput("amount", f.amount, (v) => (f.amount = v), { inputmode: "decimal" }), state.lissueErrors),
      ),
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
    { class: "screen two-col", "data-testid": "screen-units" },
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
