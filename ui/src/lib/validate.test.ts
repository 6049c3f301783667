import { describe, expect, it } from "vitest";
import { checkDecode, checkIssue, type IssueForm } from "./validate";

const KEY = "a29ab82edc5fbbc41ec9530f6dac86b1";
const form = (over: Partial<IssueForm> = {}): IssueForm => ({
  key: KEY,
  startingCode: "",
  restricted: false,
  divider: "1",
  lastCount: "0",
  action: "ADD_TIME",
  days: "7",
  extended: false,
  ...over,
});

describe("checkIssue", () => {
  it("builds the request the back-end expects", () => {
    expect(checkIssue(form({ startingCode: " 123456789 ", days: "0,5" }))).toEqual({
      ok: true,
      value: {
        unit: { key: KEY, startingCode: 123456789, restricted: false, divider: 1 },
        lastCount: 0,
        action: "ADD_TIME",
        days: "0.5",
        extended: false,
      },
    });
  });
  it("derives the starting code when it is empty", () => {
    const r = checkIssue(form());
    expect(r.ok && r.value.unit.startingCode).toBe(null);
  });
  it("flags each bad field", () => {
    const r = checkIssue(form({ key: "abc", startingCode: "-1", divider: "256", lastCount: "x", days: "-2" }));
    expect(r).toEqual({
      ok: false,
      errors: {
        key: "valid.key",
        startingCode: "valid.startingCode",
        divider: "valid.divider",
        lastCount: "valid.count",
        days: "valid.days",
      },
    });
  });
  it("needs no days to unlock or sync", () => {
    const r = checkIssue(form({ action: "DISABLE_PAYG", days: "" }));
    expect(r.ok && r.value.days).toBe(null);
  });
  it("rejects a starting code above 32 bits", () => {
    expect(checkIssue(form({ startingCode: "4294967296" })).ok).toBe(false);
  });
});

describe("checkDecode", () => {
  it("strips spaces and dashes from the token", () => {
    const r = checkDecode({ key: KEY, startingCode: "", restricted: false, divider: "1", count: "3", used: " 1,2 ", token: "123 456-789" });
    expect(r).toEqual({
      ok: true,
      value: { unit: { key: KEY, startingCode: null, restricted: false, divider: 1 }, count: 3, used: "1,2", token: "123456789" },
    });
  });
  it("asks for digits", () => {
    const r = checkDecode({ key: KEY, startingCode: "", restricted: false, divider: "1", count: "0", used: "", token: "abc" });
    expect(r).toEqual({ ok: false, errors: { token: "valid.token" } });
  });
});
