// Pure helpers of the Station screens (unit-tested in station.test.ts): label lines, the
// flash progress bar, the batch queue and its live rows.

import type { BatchUnit } from "./bindings/BatchUnit";
import type { DetectedPort } from "./bindings/DetectedPort";
import type { FlashEvent } from "./bindings/FlashEvent";
import type { ProvisionedUnit } from "./bindings/ProvisionedUnit";

/** The label printed for a unit: serial first (what the technician reads), then model, date
 * (day only), firmware and protocol — whatever the device told us. Never a key. */
export function labelLine(u: ProvisionedUnit): string {
  const parts = [u.serial];
  if (u.model) parts.push(u.model);
  parts.push(u.provisionedAt.slice(0, 10));
  if (u.firmware) parts.push(`fw ${u.firmware}`);
  if (u.protocol !== null) parts.push(`protocol ${u.protocol}`);
  return parts.join(" · ");
}

/** Where the flash is, as the progress bar shows it. */
export interface FlashBar {
  /** The phase running (or last run): fill, erase, program, verify. */
  phase: string | null;
  /** Bytes done in that phase, and its total when known. */
  done: number;
  total: number | null;
  /** Phases finished, in order. */
  finished: string[];
  /** The phase that failed, if one did. */
  failed: string | null;
  /** The chip was reset into the new firmware. */
  reset: boolean;
}

export const emptyBar = (): FlashBar => ({ phase: null, done: 0, total: null, finished: [], failed: null, reset: false });

/** The bar after one `station://flash` event (the bar passed in is not changed). */
export function applyFlashEvent(bar: FlashBar, e: FlashEvent): FlashBar {
  if (e.kind === "reset") return { ...bar, reset: true };
  if (e.kind !== "phase" || !e.phase) return bar;
  const next: FlashBar = { ...bar, finished: [...bar.finished], phase: e.phase, done: e.done, total: e.total };
  if (e.state === "finished" && !next.finished.includes(e.phase)) next.finished.push(e.phase);
  if (e.state === "failed") next.failed = e.phase;
  return next;
}

/** `done` of `total` as a whole percentage, 0-100 (0 while the total is unknown). */
export function percent(done: number, total: number | null): number {
  if (!total || total <= 0 || !Number.isFinite(done)) return 0;
  return Math.max(0, Math.min(100, Math.floor((done * 100) / total)));
}

/** Share of the whole job each phase stands for (reading back a sector to keep is quick). */
const SPANS: Record<string, [number, number]> = {
  fill: [0, 5],
  erase: [5, 30],
  program: [30, 85],
  verify: [85, 100],
};

/** One bar for the whole flash: erase, then program, then verify (program runs to 100 % when
 * there is no verify). */
export function overallPercent(bar: FlashBar, verify: boolean): number {
  if (!bar.phase) return 0;
  let [from, to] = SPANS[bar.phase] ?? [0, 100];
  if (!verify && bar.phase === "program") to = 100;
  const done = bar.finished.includes(bar.phase) ? 100 : percent(bar.done, bar.total);
  return Math.round(from + ((to - from) * done) / 100);
}

/** A port in the batch queue. */
export interface QueueEntry {
  port: string;
  /** The USB product, when known. */
  label: string | null;
  /** A simulator this app started: its id (named in the UI's language). */
  simId: number | null;
  /** device, busy, silent, not-a-device or error. */
  state: string;
  provisioned: boolean;
  serial: string | null;
  checked: boolean;
}

/** Whether a detected port can be provisioned: a device that answers and holds no key. */
export const provisionable = (d: { state: string; provisioned: boolean }): boolean =>
  d.state === "device" && !d.provisioned;

/** The queue after a new detection: ports keep their tick; new blank devices (and any port in
 * `tick`) come ticked; ports that cannot be provisioned are never ticked. */
export function mergeDetected(queue: QueueEntry[], found: DetectedPort[], tick: string[] = []): QueueEntry[] {
  return found.map((d) => {
    const before = queue.find((q) => q.port === d.port);
    const ok = provisionable(d);
    return {
      port: d.port,
      label: d.label,
      simId: d.simId,
      state: d.state,
      provisioned: d.provisioned,
      serial: d.serial,
      checked: ok && (tick.includes(d.port) || (before ? before.checked : true)),
    };
  });
}

/** The ticked ports, in queue order. */
export const selectedPorts = (queue: QueueEntry[]): string[] => queue.filter((q) => q.checked).map((q) => q.port);

/** The rows of a batch just started: every port queued. */
export function queuedRows(ports: string[]): BatchUnit[] {
  return ports.map((port, index) => ({
    index,
    port,
    result: "queued",
    serial: null,
    started: null,
    durationMs: null,
    error: null,
  }));
}

/** The rows after a `station://batch` event (rows passed in are not changed). */
export function applyBatchUnit(rows: BatchUnit[], u: BatchUnit): BatchUnit[] {
  const next = rows.slice();
  if (u.index >= 0 && u.index < next.length) next[u.index] = u;
  return next;
}

/** How many rows have each result. */
export function batchCounts(rows: BatchUnit[]): { ok: number; failed: number; cancelled: number; left: number } {
  const n = (r: string) => rows.filter((x) => x.result === r).length;
  return { ok: n("ok"), failed: n("error"), cancelled: n("cancelled"), left: n("queued") + n("running") };
}

/** A file beside `path` (another file's full path), for the default save location. */
export function siblingPath(path: string, name: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut < 0 ? name : path.slice(0, cut + 1) + name;
}

/** Milliseconds for a table cell: "850 ms", "1.2 s". */
export function formatMs(ms: number | null): string {
  if (ms === null) return "";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
