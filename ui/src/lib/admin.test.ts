import { describe, expect, it } from "vitest";
import {
  canImport,
  checkAutolock,
  checkExport,
  checkImport,
  checkPinChange,
  checkTariffs,
  parseSerialList,
  exportKindKey,
  EXPORT_KINDS,
  formatDuration,
  problemText,
  progressPercent,
  sameImport,
  type ExportForm,
} from "./admin";
import type { ImportPreview } from "./bindings/ImportPreview";
import { hasKey } from "./i18n";

const exportForm = (over: Partial<ExportForm> = {}): ExportForm => ({
  kind: "openpaygo-csv",
  scope: "all",
  status: "",
  serials: "",
  path: " /tmp/units.csv ",
  overwrite: false,
  supervisorPin: "",
  pass1: "",
  pass2: "",
  withTokens: true,
  operator: "",
  ...over,
});

const preview = (problems: number): ImportPreview => ({
  kind: "openpaygo-csv",
  newUnits: 2,
  newSerials: ["A", "B"],
  duplicates: 1,
  tokens: 0,
  problems: Array.from({ length: problems }, (_, i) => ({ line: i + 2, serial: null, message: "bad" })),
  warnings: [],
  bundleId: null,
});

describe("checkImport", () => {
  it("needs a path, and a passphrase for bundles only", () => {
    expect(checkImport({ kind: "openpaygo-csv", path: " ", bundlePassphrase: "", operator: "" })).toEqual({
      ok: false,
      errors: { importPath: "valid.path" },
    });
    expect(checkImport({ kind: "bundle", path: "/x.bin", bundlePassphrase: "", operator: "" })).toEqual({
      ok: false,
      errors: { importPass: "valid.bundlePass" },
    });
    const ok = checkImport({ kind: "openpaygo-csv", path: " /x.csv ", bundlePassphrase: "left over", operator: " amina " });
    expect(ok).toEqual({
      ok: true,
      value: { kind: "openpaygo-csv", path: "/x.csv", bundlePassphrase: null, operator: "amina" },
    });
  });

  it("a preview only counts for the same file, kind and passphrase", () => {
    const a = { kind: "bundle" as const, path: "/x", bundlePassphrase: "p1", operator: null };
    expect(sameImport(undefined, a)).toBe(false);
    expect(sameImport(a, { ...a })).toBe(true);
    expect(sameImport(a, { ...a, path: "/y" })).toBe(false);
    expect(sameImport(a, { ...a, bundlePassphrase: "p2" })).toBe(false);
    expect(sameImport(a, { ...a, operator: "someone" })).toBe(true);
  });

  it("imports only after a preview without problems", () => {
    expect(canImport(undefined)).toBe(false);
    expect(canImport(preview(1))).toBe(false);
    expect(canImport(preview(0))).toBe(true);
  });
});

describe("progressPercent", () => {
  it("checking fills the first half, writing the second", () => {
    expect(progressPercent(undefined)).toBe(0);
    expect(progressPercent({ phase: "check", done: 0, total: 10 })).toBe(0);
    expect(progressPercent({ phase: "check", done: 5, total: 10 })).toBe(25);
    expect(progressPercent({ phase: "check", done: 10, total: 10 })).toBe(50);
    expect(progressPercent({ phase: "write", done: 1, total: 4 })).toBe(63);
    expect(progressPercent({ phase: "write", done: 0, total: 0 })).toBe(100);
  });
});

describe("parseSerialList", () => {
  it("splits a pasted list and drops blanks and repeats", () => {
    expect(parseSerialList(" SN-1, SN-2;SN-3\nSN-1\t\r\nSN-4 ")).toEqual(["SN-1", "SN-2", "SN-3", "SN-4"]);
    expect(parseSerialList(" ,; \n")).toEqual([]);
  });
});

describe("checkExport", () => {
  it("takes all units, one status or the serials listed", () => {
    const all = checkExport(exportForm({ status: "active", serials: "X" }), false);
    expect(all.ok && [all.value.status, all.value.serials]).toEqual([null, []]);
    const byStatus = checkExport(exportForm({ scope: "status", status: "returned", serials: "X" }), false);
    expect(byStatus.ok && [byStatus.value.status, byStatus.value.serials]).toEqual(["returned", []]);
    const listed = checkExport(exportForm({ scope: "serials", serials: "SN-2 SN-1, SN-2" }), false);
    expect(listed.ok && [listed.value.status, listed.value.serials]).toEqual([null, ["SN-2", "SN-1"]]);
    expect(checkExport(exportForm({ scope: "serials", serials: " , " }), false)).toEqual({
      ok: false,
      errors: { exportSerials: "valid.required" },
    });
    expect(checkExport(exportForm({ scope: "status", status: "" }), false)).toEqual({
      ok: false,
      errors: { exportStatus: "valid.required" },
    });
  });

  it("needs the supervisor PIN for device keys only when one is set", () => {
    const noPin = checkExport(exportForm(), false);
    expect(noPin.ok && noPin.value).toMatchObject({ path: "/tmp/units.csv", supervisorPin: null, bundlePassphrase: null, withTokens: false });
    expect(checkExport(exportForm(), true)).toEqual({ ok: false, errors: { exportPin: "valid.supervisorPin" } });
    expect(checkExport(exportForm({ supervisorPin: "12a4" }), true).ok).toBe(false);
    const withPin = checkExport(exportForm({ supervisorPin: " 2468 " }), true);
    expect(withPin.ok && withPin.value.supervisorPin).toBe("2468");
    // The tokens CSV holds no keys: no PIN asked, none sent.
    const tokens = checkExport(exportForm({ kind: "tokens-csv", supervisorPin: "2468" }), true);
    expect(tokens.ok && tokens.value.supervisorPin).toBeNull();
  });

  it("wants the bundle passphrase long enough and typed twice", () => {
    const b = (pass1: string, pass2: string) => checkExport(exportForm({ kind: "bundle", pass1, pass2 }), false);
    expect(b("short", "short")).toEqual({ ok: false, errors: { exportPass1: "ledger.tooShort" } });
    expect(b("handover 1", "handover 2")).toEqual({ ok: false, errors: { exportPass2: "ledger.mismatch" } });
    const ok = b("handover 1", "handover 1");
    expect(ok.ok && ok.value).toMatchObject({ bundlePassphrase: "handover 1", bundlePassphraseAgain: "handover 1", withTokens: true });
  });

  it("needs a path", () => {
    expect(checkExport(exportForm({ path: "" }), false)).toEqual({ ok: false, errors: { exportPath: "valid.path" } });
  });
});

describe("checkTariffs", () => {
  it("accepts a clean list, canonicalising days and currency", () => {
    const r = checkTariffs(
      [
        { name: " Daily ", days: "0,5", currency: "kes" },
        { name: "Weekly", days: "7", currency: "XOF" },
      ],
      "Weekly",
    );
    expect(r).toEqual({
      ok: true,
      value: {
        tariffs: [
          { name: "Daily", daysPerUnit: "0.5", currency: "KES" },
          { name: "Weekly", daysPerUnit: "7", currency: "XOF" },
        ],
        default: "Weekly",
      },
    });
    expect(checkTariffs([], "")).toEqual({ ok: true, value: { tariffs: [], default: null } });
  });

  it("points at each wrong cell", () => {
    const r = checkTariffs(
      [
        { name: "", days: "0", currency: "KE" },
        { name: "A", days: "1.2345", currency: "KES" },
        { name: "a", days: "2", currency: "KES" },
      ],
      "Monthly",
    );
    expect(r).toEqual({
      ok: false,
      errors: {
        "tariff-name-0": "valid.tariffName",
        "tariff-days-0": "valid.tariffDays",
        "tariff-currency-0": "valid.currency",
        "tariff-days-1": "valid.tariffDays",
        "tariff-name-2": "valid.tariffTwice",
        defaultTariff: "valid.defaultTariff",
      },
    });
  });
});

describe("checkAutolock", () => {
  it("takes 1-1440 minutes, or empty for the default", () => {
    expect(checkAutolock(" ")).toEqual({ ok: true, value: null });
    expect(checkAutolock("15")).toEqual({ ok: true, value: 15 });
    expect(checkAutolock("1440")).toEqual({ ok: true, value: 1440 });
    for (const bad of ["0", "1441", "2.5", "-1", "ten"]) expect(checkAutolock(bad).ok).toBe(false);
  });
});

describe("checkPinChange", () => {
  it("asks for the current PIN only when one is set, and the new one twice", () => {
    expect(checkPinChange({ current: "", pin: "1234", again: "1234" }, false)).toEqual({
      ok: true,
      value: { current: null, pin: "1234", pinAgain: "1234" },
    });
    expect(checkPinChange({ current: "", pin: "1234", again: "1234" }, true)).toEqual({
      ok: false,
      errors: { pinCurrent: "valid.supervisorPin" },
    });
    expect(checkPinChange({ current: "1111", pin: "1234", again: "1243" }, true)).toEqual({
      ok: false,
      errors: { pinAgain: "valid.pinMismatch" },
    });
    expect(checkPinChange({ current: "", pin: "12", again: "12" }, false)).toEqual({
      ok: false,
      errors: { pinNew: "valid.supervisorPin" },
    });
  });
});

describe("texts", () => {
  it("problem lines read as line · serial: message", () => {
    expect(problemText({ line: 4, serial: "SN-3", message: "conflict" }, "line")).toBe("line 4 · SN-3: conflict");
    expect(problemText({ line: null, serial: "SN-3", message: "conflict" }, "ligne")).toBe("SN-3: conflict");
    expect(problemText({ line: 1, serial: null, message: "missing column" }, "line")).toBe("line 1: missing column");
    expect(problemText({ line: null, serial: null, message: "x" }, "line")).toBe("x");
  });

  it("durations and every export kind have a text", () => {
    expect(formatDuration(600)).toBe("10 min");
    expect(formatDuration(45)).toBe("45 s");
    for (const k of EXPORT_KINDS) expect(hasKey(exportKindKey(k))).toBe(true);
  });
});
