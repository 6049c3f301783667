import { describe, expect, it } from "vitest";
import type { BatchUnit } from "./bindings/BatchUnit";
import type { FlashEvent } from "./bindings/FlashEvent";
import type { ProvisionedUnit } from "./bindings/ProvisionedUnit";
import {
  applyBatchUnit,
  applyFlashEvent,
  batchCounts,
  emptyBar,
  formatMs,
  labelLine,
  mergeDetected,
  overallPercent,
  percent,
  queuedRows,
  selectedPorts,
  siblingPath,
} from "./station";

const unit = (over: Partial<ProvisionedUnit> = {}): ProvisionedUnit => ({
  serial: "SN-000001",
  port: "/dev/ttyUSB0",
  model: "SHS-10",
  count: 1,
  firmware: "sim-0.1.0",
  protocol: 1,
  provisionedAt: "2026-11-28T13:05:09Z",
  recovered: false,
  durationMs: 16,
  ...over,
});

describe("labelLine", () => {
  it("has the serial, model, day, firmware and protocol", () => {
    expect(labelLine(unit())).toBe("SN-000001 · SHS-10 · 2026-11-28 · fw sim-0.1.0 · protocol 1");
  });
  it("leaves out what the back-end did not give", () => {
    expect(labelLine(unit({ model: null, firmware: null, protocol: null }))).toBe("SN-000001 · 2026-11-28");
  });
});

const phase = (p: string, state: string, done: number, total: number | null): FlashEvent => ({
  kind: "phase",
  phase: p,
  state,
  done,
  total,
  text: null,
});

describe("flash progress", () => {
  it("percent is whole, clamped, and 0 without a total", () => {
    expect(percent(512, 1024)).toBe(50);
    expect(percent(1023, 1024)).toBe(99);
    expect(percent(2048, 1024)).toBe(100);
    expect(percent(10, null)).toBe(0);
    expect(percent(10, 0)).toBe(0);
  });
  it("follows erase, program and verify into one bar", () => {
    let bar = emptyBar();
    expect(overallPercent(bar, true)).toBe(0);
    bar = applyFlashEvent(bar, { kind: "attached", phase: null, state: null, done: 0, total: null, text: "x" });
    expect(bar).toEqual(emptyBar());
    bar = applyFlashEvent(bar, phase("erase", "started", 0, 8192));
    expect(overallPercent(bar, true)).toBe(5);
    bar = applyFlashEvent(bar, phase("erase", "progress", 4096, 8192));
    expect(overallPercent(bar, true)).toBe(18);
    bar = applyFlashEvent(bar, phase("erase", "finished", 8192, 8192));
    expect(bar.finished).toEqual(["erase"]);
    expect(overallPercent(bar, true)).toBe(30);
    bar = applyFlashEvent(bar, phase("program", "progress", 2048, 8192));
    expect(overallPercent(bar, true)).toBe(44);
    // Without verify, programming fills the bar.
    expect(overallPercent(bar, false)).toBe(48);
    bar = applyFlashEvent(bar, phase("verify", "finished", 8192, 8192));
    expect(overallPercent(bar, true)).toBe(100);
    bar = applyFlashEvent(bar, { kind: "reset", phase: null, state: null, done: 0, total: null, text: null });
    expect(bar.reset).toBe(true);
  });
  it("remembers a failed phase", () => {
    const bar = applyFlashEvent(emptyBar(), phase("program", "failed", 1024, 8192));
    expect(bar.failed).toBe("program");
    expect(overallPercent(bar, true)).toBe(37);
  });
});

const detected = (port: string, state: string, provisioned: boolean) => ({
  port,
  source: "sim",
  state,
  provisioned,
  serial: provisioned ? "SN-1" : null,
  firmware: null,
  label: null,
  simId: null,
  message: null,
});

describe("batch queue", () => {
  it("ticks blank devices, never provisioned or silent ones, and keeps the user's ticks", () => {
    let q = mergeDetected([], [detected("/a", "device", false), detected("/b", "device", true), detected("/c", "silent", false)]);
    expect(q.map((x) => x.checked)).toEqual([true, false, false]);
    q[0].checked = false;
    q = mergeDetected(q, [detected("/a", "device", false), detected("/d", "device", false)]);
    expect(selectedPorts(q)).toEqual(["/d"]);
    q = mergeDetected(q, [detected("/a", "device", false), detected("/d", "device", false)], ["/a"]);
    expect(selectedPorts(q)).toEqual(["/a", "/d"]);
  });

  it("rows follow the live events", () => {
    let rows = queuedRows(["/a", "/b", "/c"]);
    expect(batchCounts(rows)).toEqual({ ok: 0, failed: 0, cancelled: 0, left: 3 });
    const ev = (index: number, result: string, extra: Partial<BatchUnit> = {}): BatchUnit => ({
      ...rows[index],
      result,
      ...extra,
    });
    rows = applyBatchUnit(rows, ev(0, "running"));
    rows = applyBatchUnit(rows, ev(0, "ok", { serial: "SN-000001", durationMs: 20 }));
    rows = applyBatchUnit(rows, ev(1, "error", { error: { code: "PORT", message: "gone" } }));
    rows = applyBatchUnit(rows, ev(2, "cancelled"));
    // An index out of range changes nothing.
    rows = applyBatchUnit(rows, { ...ev(0, "ok"), index: 7 });
    expect(rows.map((r) => r.result)).toEqual(["ok", "error", "cancelled"]);
    expect(rows[0].serial).toBe("SN-000001");
    expect(batchCounts(rows)).toEqual({ ok: 1, failed: 1, cancelled: 1, left: 0 });
  });
});

describe("small formats", () => {
  it("puts a file beside another", () => {
    expect(siblingPath("/home/a/.local/share/openpaygo-station/ledger.sqlite", "batch.csv")).toBe(
      "/home/a/.local/share/openpaygo-station/batch.csv",
    );
    expect(siblingPath("C:\\Users\\a\\ledger.sqlite", "labels.csv")).toBe("C:\\Users\\a\\labels.csv");
    expect(siblingPath("ledger.sqlite", "x.csv")).toBe("x.csv");
  });
  it("shows durations", () => {
    expect(formatMs(null)).toBe("");
    expect(formatMs(850)).toBe("850 ms");
    expect(formatMs(1234)).toBe("1.2 s");
  });
});
