import { describe, expect, it } from "vitest";
import { checkAddUnit, checkLedgerIssue, checkNewPassphrase, pageCount, type LedgerIssueForm } from "./ledger";

const form = (over: Partial<LedgerIssueForm> = {}): LedgerIssueForm => ({
  action: "ADD_TIME",
  days: "7",
  amount: "",
  paymentRef: "",
  operator: "",
  reason: "",
  supervisorPin: "",
  ...over,
});

describe("checkNewPassphrase", () => {
  it("wants 8 characters, typed the same twice", () => {
    expect(checkNewPassphrase("short", "short")).toBe("ledger.tooShort");
    expect(checkNewPassphrase("long enough", "long enougH")).toBe("ledger.mismatch");
    expect(checkNewPassphrase("long enough", "long enough")).toBeNull();
  });
});

describe("pageCount", () => {
  it("rounds up and never says zero pages", () => {
    expect(pageCount(0, 50)).toBe(1);
    expect(pageCount(50, 50)).toBe(1);
    expect(pageCount(51, 50)).toBe(2);
    expect(pageCount(120, 50)).toBe(3);
  });
});

describe("checkLedgerIssue", () => {
  it("builds the request, trimming and dropping empty optional fields", () => {
    const r = checkLedgerIssue("U-1", form({ paymentRef: " MP-1 ", amount: "12.50" }));
    expect(r).toEqual({
      ok: true,
      value: {
        serial: "U-1",
        action: "ADD_TIME",
        days: "7",
        amount: "12.50",
        paymentRef: "MP-1",
        operator: null,
        reason: null,
        supervisorPin: null,
        extended: false,
      },
    });
  });
  it("sends no days for actions without them", () => {
    const r = checkLedgerIssue("U-1", form({ action: "DISABLE_PAYG", days: "x", operator: "amina" }));
    expect(r.ok && r.value.days).toBeNull();
  });
  it("sends the supervisor PIN and reason only for unlock, sync and set", () => {
    const r = checkLedgerIssue("U-1", form({ action: "DISABLE_PAYG", supervisorPin: " 2468 ", reason: " paid off ", operator: "amina" }));
    expect(r.ok && [r.value.supervisorPin, r.value.reason]).toEqual(["2468", "paid off"]);
    const a = checkLedgerIssue("U-1", form({ supervisorPin: "2468", reason: "x" }));
    expect(a.ok && [a.value.supervisorPin, a.value.reason]).toEqual([null, null]);
    expect(checkLedgerIssue("U-1", form({ action: "COUNTER_SYNC", supervisorPin: "12a" }))).toEqual({
      ok: false,
      errors: { supervisorPin: "valid.supervisorPin" },
    });
  });
  it("flags bad days and amounts next to their fields", () => {
    expect(checkLedgerIssue("U-1", form({ days: "-1" }))).toEqual({ ok: false, errors: { ldays: "valid.days" } });
    expect(checkLedgerIssue("U-1", form({ amount: "1.2345" }))).toEqual({ ok: false, errors: { amount: "valid.amount" } });
    expect(checkLedgerIssue("U-1", form({ action: "ADD_AMOUNT" }))).toEqual({ ok: false, errors: { amount: "valid.amount" } });
  });
});

describe("checkAddUnit", () => {
  it("accepts a serial, a 32-hex key and an optional starting code", () => {
    const key = "a29ab82edc5fbbc41ec9530f6dac86b1";
    expect(checkAddUnit({ serial: " SHS-1 ", key, startingCode: "" })).toEqual({
      ok: true,
      value: { serial: "SHS-1", key, startingCode: null },
    });
    expect(checkAddUnit({ serial: "SHS-1", key, startingCode: "123" })).toEqual({
      ok: true,
      value: { serial: "SHS-1", key, startingCode: 123 },
    });
  });
  it("flags each bad field", () => {
    expect(checkAddUnit({ serial: "bad serial!", key: "xyz", startingCode: "-1" })).toEqual({
      ok: false,
      errors: { newSerial: "valid.serial", newKey: "valid.key", newStartingCode: "valid.startingCode" },
    });
  });
});
