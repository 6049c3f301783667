// Pure helpers for Ledger › Import / export, Verify and Settings (unit-tested in admin.test.ts).
// The back-end checks everything again; these put the message next to the field at once.

import type { ExportKind } from "./bindings/ExportKind";
import type { ExportRequest } from "./bindings/ExportRequest";
import type { ImportKind } from "./bindings/ImportKind";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { ImportProgressEvent } from "./bindings/ImportProgressEvent";
import type { ImportRequest } from "./bindings/ImportRequest";
import type { SupervisorPinChange } from "./bindings/SupervisorPinChange";
import type { TariffView } from "./bindings/TariffView";
import type { Key } from "./i18n";
import { MIN_PASSPHRASE } from "./ledger";
import type { Checked, Errors } from "./validate";

export const IMPORT_KINDS: ImportKind[] = ["openpaygo-csv", "bundle"];
export const EXPORT_KINDS: ExportKind[] = ["openpaygo-csv", "tokens-csv", "bundle"];
/** As the back-end's MAX_AUTOLOCK_MINUTES. */
export const MAX_AUTOLOCK_MINUTES = 1440;

const optional = (s: string): string | null => (s.trim() === "" ? null : s.trim());

export interface ImportForm {
  kind: ImportKind;
  path: string;
  bundlePassphrase: string;
  operator: string;
}

export function checkImport(f: ImportForm): Checked<ImportRequest> {
  const errors: Errors = {};
  if (f.path.trim() === "") errors.importPath = "valid.path";
  if (f.kind === "bundle" && f.bundlePassphrase === "") errors.importPass = "valid.bundlePass";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      kind: f.kind,
      path: f.path.trim(),
      bundlePassphrase: f.kind === "bundle" ? f.bundlePassphrase : null,
      operator: optional(f.operator),
    },
  };
}

/** A preview stays valid only for the file, kind and passphrase it was made for. */
export function sameImport(a: ImportRequest | undefined, b: ImportRequest): boolean {
  return !!a && a.kind === b.kind && a.path === b.path && a.bundlePassphrase === b.bundlePassphrase;
}

/** An import may go ahead after a preview without problems that has something to do. */
export function canImport(p: ImportPreview | undefined): boolean {
  return !!p && p.problems.length === 0;
}

/** Overall progress 0-100: checking is the first half, writing the second. */
export function progressPercent(e: ImportProgressEvent | undefined): number {
  if (!e) return 0;
  const part = e.total === 0 ? 1 : Math.min(1, e.done / e.total);
  return Math.round((e.phase === "write" ? 50 : 0) + part * 50);
}

/** Which units an export takes. */
export type ExportScope = "all" | "status" | "serials";
export const EXPORT_SCOPES: ExportScope[] = ["all", "status", "serials"];

/** Serials as pasted from a batch report or a list: split on spaces, commas, semicolons and
 * lines; blanks and repeats dropped, first order kept. */
export function parseSerialList(text: string): string[] {
  const out: string[] = [];
  for (const s of text.split(/[\s,;]+/)) {
    if (s !== "" && !out.includes(s)) out.push(s);
  }
  return out;
}

export interface ExportForm {
  kind: ExportKind;
  scope: ExportScope;
  /** The status when `scope` is "status". */
  status: string;
  /** The serials as typed when `scope` is "serials". */
  serials: string;
  path: string;
  overwrite: boolean;
  supervisorPin: string;
  pass1: string;
  pass2: string;
  withTokens: boolean;
  operator: string;
}

export function checkExport(f: ExportForm, pinSet: boolean): Checked<ExportRequest> {
  const errors: Errors = {};
  if (f.path.trim() === "") errors.exportPath = "valid.path";
  const pin = f.kind === "openpaygo-csv" ? optional(f.supervisorPin) : null;
  if (f.kind === "openpaygo-csv" && pinSet && pin === null) errors.exportPin = "valid.supervisorPin";
  if (pin !== null && !/^\d{4,8}$/.test(pin)) errors.exportPin = "valid.supervisorPin";
  if (f.kind === "bundle") {
    if ([...f.pass1].length < MIN_PASSPHRASE) errors.exportPass1 = "ledger.tooShort";
    else if (f.pass1 !== f.pass2) errors.exportPass2 = "ledger.mismatch";
  }
  const serials = f.scope === "serials" ? parseSerialList(f.serials) : [];
  if (f.scope === "serials" && serials.length === 0) errors.exportSerials = "valid.required";
  if (f.scope === "status" && f.status.trim() === "") errors.exportStatus = "valid.required";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const bundle = f.kind === "bundle";
  return {
    ok: true,
    value: {
      kind: f.kind,
      path: f.path.trim(),
      overwrite: f.overwrite,
      supervisorPin: pin,
      bundlePassphrase: bundle ? f.pass1 : null,
      bundlePassphraseAgain: bundle ? f.pass2 : null,
      withTokens: bundle && f.withTokens,
      operator: optional(f.operator),
      status: f.scope === "status" ? f.status.trim() : null,
      serials,
    },
  };
}

/** A tariff row as typed (days may use a comma for decimals). */
export interface TariffRow {
  name: string;
  days: string;
  currency: string;
}

/** Check the tariff table: errors are keyed `tariff-<field>-<row>`, and `defaultTariff`. */
export function checkTariffs(rows: TariffRow[], defaultName: string): Checked<{ tariffs: TariffView[]; default: string | null }> {
  const errors: Errors = {};
  const seen = new Set<string>();
  const tariffs: TariffView[] = rows.map((r, i) => {
    const name = r.name.trim();
    const days = r.days.trim().replace(",", ".");
    const currency = r.currency.trim().toUpperCase();
    if (name === "" || [...name].length > 32) errors[`tariff-name-${i}`] = "valid.tariffName";
    else if (seen.has(name.toLowerCase())) errors[`tariff-name-${i}`] = "valid.tariffTwice";
    seen.add(name.toLowerCase());
    if (!/^\d+(\.\d{1,3})?$/.test(days) || Number(days) <= 0) errors[`tariff-days-${i}`] = "valid.tariffDays";
    if (!/^[A-Z]{3}$/.test(currency)) errors[`tariff-currency-${i}`] = "valid.currency";
    return { name, daysPerUnit: days, currency };
  });
  const d = defaultName.trim();
  if (d !== "" && !tariffs.some((t) => t.name.toLowerCase() === d.toLowerCase())) errors.defaultTariff = "valid.defaultTariff";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { tariffs, default: d === "" ? null : d } };
}

export function checkAutolock(text: string): Checked<number | null> {
  const s = text.trim();
  if (s === "") return { ok: true, value: null };
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= MAX_AUTOLOCK_MINUTES)) return { ok: false, errors: { autolock: "valid.autolock" } };
  return { ok: true, value: n };
}

export interface PinForm {
  current: string;
  pin: string;
  again: string;
}

export function checkPinChange(f: PinForm, pinSet: boolean): Checked<SupervisorPinChange> {
  const errors: Errors = {};
  if (pinSet && !/^\d{4,8}$/.test(f.current.trim())) errors.pinCurrent = "valid.supervisorPin";
  if (!/^\d{4,8}$/.test(f.pin.trim())) errors.pinNew = "valid.supervisorPin";
  else if (f.pin.trim() !== f.again.trim()) errors.pinAgain = "valid.pinMismatch";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { current: pinSet ? f.current.trim() : null, pin: f.pin.trim(), pinAgain: f.again.trim() } };
}

/** "line 4 · SN-3: message" (bundles have no lines). */
export function problemText(p: { line: number | null; serial: string | null; message: string }, lineWord: string): string {
  const where = [p.line !== null ? `${lineWord} ${p.line}` : null, p.serial].filter((x) => x !== null).join(" · ");
  return where === "" ? p.message : `${where}: ${p.message}`;
}

/** Seconds as "10 min" / "45 s". */
export function formatDuration(secs: number): string {
  return secs % 60 === 0 ? `${secs / 60} min` : `${secs} s`;
}

/** Which i18n key names an export kind. */
export const exportKindKey = (k: ExportKind): Key => `transfer.kind.${k}` as Key;
export const importKindKey = (k: ImportKind): Key => `transfer.kind.${k}` as Key;
