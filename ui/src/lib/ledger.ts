// Pure helpers for the ledger screens (unit-tested in ledger.test.ts).

import type { LedgerAction } from "./bindings/LedgerAction";
import type { LedgerIssueRequest } from "./bindings/LedgerIssueRequest";
import type { Key } from "./i18n";
import type { Checked, Errors } from "./validate";

/** As the back-end's MIN_PASSPHRASE. */
export const MIN_PASSPHRASE = 8;
export const PAGE_SIZE = 50;
export const LEDGER_ACTIONS: LedgerAction[] = ["ADD_TIME", "ADD_AMOUNT", "SET_TIME", "DISABLE_PAYG", "COUNTER_SYNC"];
/** The statuses the Units filter offers (the ledger's names). */
export const UNIT_STATUSES = [
  "in_stock",
  "provisioning",
  "provisioned",
  "assigned",
  "active",
  "unlocked",
  "returned",
  "written_off",
] as const;

/** What is wrong with a new passphrase typed twice, if anything. */
export function checkNewPassphrase(first: string, second: string): Key | null {
  if ([...first].length < MIN_PASSPHRASE) return "ledger.tooShort";
  if (first !== second) return "ledger.mismatch";
  return null;
}

/** Pages needed for `total` rows (at least 1, so "page 1 of 1" for an empty ledger). */
export function pageCount(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, pageSize)));
}

export interface LedgerIssueForm {
  action: LedgerAction;
  days: string;
  amount: string;
  paymentRef: string;
  operator: string;
  reason: string;
  supervisorPin: string;
}

export const ledgerNeedsDays = (a: LedgerAction) => a === "ADD_TIME" || a === "SET_TIME";

/** Unlock, sync and set-time tokens: the supervisor PIN (when configured) and a reason. */
export const ledgerNeedsSupervisor = (a: LedgerAction) => a === "DISABLE_PAYG" || a === "COUNTER_SYNC" || a === "SET_TIME";

const optional = (s: string): string | null => (s.trim() === "" ? null : s.trim());

/** Check the Units screen's issue form for `serial`; the back-end checks again. */
export function checkLedgerIssue(serial: string, f: LedgerIssueForm): Checked<LedgerIssueRequest> {
  const errors: Errors = {};
  if (ledgerNeedsDays(f.action) && !/^\d+(\.\d+)?$/.test(f.days.trim())) errors.ldays = "valid.days";
  const amount = optional(f.amount);
  if (amount !== null && !/^\d+(\.\d{1,3})?$/.test(amount)) errors.amount = "valid.amount";
  if (f.action === "ADD_AMOUNT" && amount === null) errors.amount = "valid.amount";
  const supervised = ledgerNeedsSupervisor(f.action);
  const pin = supervised ? optional(f.supervisorPin) : null;
  if (pin !== null && !/^\d{4,8}$/.test(pin)) errors.supervisorPin = "valid.supervisorPin";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      serial,
      action: f.action,
      days: ledgerNeedsDays(f.action) ? f.days.trim() : null,
      amount,
      paymentRef: optional(f.paymentRef),
      operator: optional(f.operator),
      reason: supervised ? optional(f.reason) : null,
      supervisorPin: pin,
      extended: false,
    },
  };
}

/** Unix seconds as local "YYYY-MM-DD HH:MM". */
export function formatTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export interface AddUnitForm {
  serial: string;
  key: string;
  startingCode: string;
}

export interface AddUnit {
  serial: string;
  key: string;
  startingCode: number | null;
}

/** Check the "Add unit" form (serial as the ledger accepts it, 32-hex key, optional code). */
export function checkAddUnit(f: AddUnitForm): Checked<AddUnit> {
  const errors: Errors = {};
  const serial = f.serial.trim();
  const key = f.key.trim();
  const code = f.startingCode.trim();
  if (!/^[A-Za-z0-9-]{1,16}$/.test(serial)) errors.newSerial = "valid.serial";
  if (!/^[0-9a-fA-F]{32}$/.test(key)) errors.newKey = "valid.key";
  if (code !== "" && !(/^\d+$/.test(code) && Number(code) <= 4294967295)) errors.newStartingCode = "valid.startingCode";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { serial, key, startingCode: code === "" ? null : Number(code) } };
}
