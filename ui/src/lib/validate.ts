// Form validation before a command is sent: the back-end checks again and its errors are
// shown too, but a person gets the message next to the field at once.

import type { DecodeRequest } from "./bindings/DecodeRequest";
import type { IssueRequest } from "./bindings/IssueRequest";
import type { TokenAction } from "./bindings/TokenAction";
import type { UnitParams } from "./bindings/UnitParams";
import { digitsOnly } from "./format";
import type { Key } from "./i18n";

export interface UnitForm {
  key: string;
  startingCode: string;
  restricted: boolean;
  divider: string;
}

export interface IssueForm extends UnitForm {
  lastCount: string;
  action: TokenAction;
  days: string;
  extended: boolean;
}

export interface DecodeForm extends UnitForm {
  count: string;
  used: string;
  token: string;
}

export type Errors = Partial<Record<string, Key>>;
export type Checked<T> = { ok: true; value: T } | { ok: false; errors: Errors };

const U32_MAX = 4294967295;

function wholeNumber(text: string, min: number, max: number): number | null {
  const s = text.trim();
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return n >= min && n <= max ? n : null;
}

function unit(form: UnitForm, errors: Errors): UnitParams {
  const key = form.key.trim();
  if (!/^[0-9a-fA-F]{32}$/.test(key)) errors.key = "valid.key";
  let startingCode: number | null = null;
  if (form.startingCode.trim() !== "") {
    startingCode = wholeNumber(form.startingCode, 0, U32_MAX);
    if (startingCode === null) errors.startingCode = "valid.startingCode";
  }
  const divider = wholeNumber(form.divider, 1, 255);
  if (divider === null) errors.divider = "valid.divider";
  return { key, startingCode, restricted: form.restricted, divider: divider ?? 1 };
}

export function needsDays(action: TokenAction): boolean {
  return action === "ADD_TIME" || action === "SET_TIME";
}

export function checkIssue(form: IssueForm): Checked<IssueRequest> {
  const errors: Errors = {};
  const u = unit(form, errors);
  const lastCount = wholeNumber(form.lastCount, 0, U32_MAX);
  if (lastCount === null) errors.lastCount = "valid.count";
  let days: string | null = null;
  if (needsDays(form.action)) {
    const d = form.days.trim().replace(",", ".");
    if (!/^\d+(\.\d+)?$/.test(d)) errors.days = "valid.days";
    days = d;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: { unit: u, lastCount: lastCount ?? 0, action: form.action, days, extended: form.extended },
  };
}

export function checkDecode(form: DecodeForm): Checked<DecodeRequest> {
  const errors: Errors = {};
  const u = unit(form, errors);
  const count = wholeNumber(form.count, 0, U32_MAX);
  if (count === null) errors.count = "valid.count";
  const token = digitsOnly(form.token);
  if (!/^\d+$/.test(token)) errors.token = "valid.token";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { unit: u, count: count ?? 0, used: form.used.trim(), token } };
}
