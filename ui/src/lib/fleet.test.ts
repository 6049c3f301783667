import { describe, expect, it } from "vitest";
import {
  barChart,
  bucketLabel,
  CHART,
  creditLeft,
  formatDate,
  formatDays,
  labelledBars,
  nextSort,
  niceMax,
  receiptRows,
  sortMark,
  tzOffsetSecs,
} from "./fleet";
import { groupDigits } from "./format";
import { smsText } from "./sms";

describe("table sorting", () => {
  it("flips the direction on the same column and starts ascending on another", () => {
    const s0 = { sort: "serial" as const, descending: false };
    const s1 = nextSort(s0, "serial");
    expect(s1).toEqual({ sort: "serial", descending: true });
    expect(nextSort(s1, "serial")).toEqual(s0);
    expect(nextSort(s1, "credit_until")).toEqual({ sort: "credit_until", descending: false });
  });
  it("marks only the sorted column", () => {
    const s = { sort: "customer" as const, descending: true };
    expect(sortMark(s, "customer")).toEqual({ arrow: "▼", aria: "descending" });
    expect(sortMark({ ...s, descending: false }, "customer").aria).toBe("ascending");
    expect(sortMark(s, "serial")).toEqual({ arrow: "", aria: "none" });
  });
});

describe("bar charts", () => {
  it("rounds the scale up to 1, 2 or 5 × 10^k", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(1)).toBe(1);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(10)).toBe(10);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(0.3)).toBeCloseTo(0.5);
    expect(niceMax(1234)).toBe(2000);
  });
  it("draws bars proportional to their values on a shared baseline", () => {
    const m = barChart([
      { label: "a", value: 0 },
      { label: "b", value: 5 },
      { label: "c", value: 10 },
      { label: "d", value: 2.5 },
    ]);
    const plot = CHART.height - CHART.bottom - CHART.top;
    expect(m.max).toBe(10);
    expect(m.base).toBe(CHART.height - CHART.bottom);
    expect(m.bars.map((b) => b.height)).toEqual([0, plot / 2, plot, plot / 4]);
    for (const b of m.bars) expect(b.y + b.height).toBeCloseTo(m.base);
    // Evenly spaced, inside the width, in order.
    const slot = CHART.width / 4;
    m.bars.forEach((b, i) => {
      expect(b.x).toBeCloseTo(i * slot + CHART.gap / 2);
      expect(b.x + b.width).toBeLessThanOrEqual(CHART.width);
    });
    expect(m.bars[2].label).toBe("c");
  });
  it("copes with no data and negative noise", () => {
    expect(barChart([]).bars).toEqual([]);
    const m = barChart([{ label: "x", value: -1 }]);
    expect(m.bars[0].height).toBe(0);
    expect(m.max).toBe(1);
  });
  it("labels about every n-th bar and always the last", () => {
    expect([...labelledBars(28, 7)].sort((a, b) => a - b)).toEqual([3, 7, 11, 15, 19, 23, 27]);
    expect(labelledBars(3, 10)).toEqual(new Set([0, 1, 2]));
    expect(labelledBars(0, 5).size).toBe(0);
  });
});

describe("dates and days", () => {
  it("formats local dates and bucket labels", () => {
    const t = new Date(2026, 0, 5, 14, 30).getTime() / 1000;
    expect(formatDate(t)).toBe("2026-01-05");
    expect(bucketLabel(t)).toBe("01-05");
  });
  it("gives the offset east of UTC in seconds", () => {
    const d = new Date(2026, 5, 1);
    expect(tzOffsetSecs(d)).toBe(-d.getTimezoneOffset() * 60);
  });
  it("writes days without float noise", () => {
    expect(formatDays(7)).toBe("7");
    expect(formatDays(0.1 + 0.2)).toBe("0.3");
    expect(formatDays(2.5)).toBe("2.5");
  });
  it("says how much credit is left", () => {
    expect(creditLeft(null, 100)).toBeNull();
    expect(creditLeft(100, 100)).toEqual({ expired: true, days: 0, hours: 0 });
    expect(creditLeft(1000 + 2 * 86400 + 5 * 3600 + 59, 1000)).toEqual({ expired: false, days: 2, hours: 5 });
  });
});

describe("token receipt", () => {
  it("lists what was issued, leaving out what is missing", () => {
    const at = new Date(2026, 2, 9, 8, 5).getTime() / 1000;
    const rows = receiptRows({
      serial: "SN-1",
      customer: "Awa",
      grouped: "123 456 789",
      days: 7.5,
      issuedAt: at,
      paymentRef: "MPESA-1",
    });
    expect(rows).toEqual([
      ["units.serial", "SN-1"],
      ["units.customer", "Awa"],
      ["issue.token", "123 456 789"],
      ["form.days", "7.5"],
      ["unit.when", "2026-03-09 08:05"],
      ["form.paymentRef", "MPESA-1"],
    ]);
    const bare = receiptRows({ serial: "SN-2", customer: null, grouped: "1", days: null, issuedAt: at, paymentRef: "" });
    expect(bare.map((r) => r[0])).toEqual(["units.serial", "issue.token", "unit.when"]);
  });
  it("groups restricted tokens (digits 1-4) on screen and in the SMS", () => {
    expect(groupDigits("431214321441231")).toBe("431 214 321 441 231");
    expect(smsText("en", "431214321441231")).toBe("Your token: 431 214 321 441 231");
    expect(smsText("fr", "14231423142314231423")).toBe("Votre code : 1423 1423 1423 1423 1423");
  });
});
