// Pure helpers for the fleet screens: table sorting, bar-chart geometry, dates, the token
// receipt (unit-tested in fleet.test.ts; the screens only draw what these return).

import type { FleetSort } from "./bindings/FleetSort";
import type { Key } from "./i18n";
import { formatTime } from "./ledger";

export interface SortState {
  sort: FleetSort;
  descending: boolean;
}

/** The sortable columns of the Units table, in display order, with their header text. */
export const SORT_COLUMNS: { sort: FleetSort; label: Key }[] = [
  { sort: "serial", label: "units.serial" },
  { sort: "status", label: "units.status" },
  { sort: "customer", label: "units.customer" },
  { sort: "credit_until", label: "fleet.creditUntil" },
  { sort: "last_token", label: "fleet.lastToken" },
];

/** Clicking a header: the same column flips the direction, another starts ascending. */
export function nextSort(current: SortState, clicked: FleetSort): SortState {
  if (current.sort === clicked) return { sort: clicked, descending: !current.descending };
  return { sort: clicked, descending: false };
}

/** The arrow a header shows, and its aria-sort value. */
export function sortMark(current: SortState, column: FleetSort): { arrow: string; aria: "ascending" | "descending" | "none" } {
  if (current.sort !== column) return { arrow: "", aria: "none" };
  return current.descending ? { arrow: "▼", aria: "descending" } : { arrow: "▲", aria: "ascending" };
}

/** The smallest 1, 2 or 5 × 10^k at or above `v` (a round top for a chart's scale); 1 for 0. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v - 1e-9 * p) return m * p;
  return 10 * p;
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
  label: string;
}

export interface ChartModel {
  width: number;
  height: number;
  /** The value at the top of the plot area. */
  max: number;
  /** Baseline y (bars stand on it). */
  base: number;
  bars: Bar[];
}

export interface ChartSize {
  width: number;
  height: number;
  /** Room above the bars (for value labels) and below (for bucket labels). */
  top: number;
  bottom: number;
  gap: number;
}

export const CHART: ChartSize = { width: 560, height: 170, top: 16, bottom: 20, gap: 3 };

/** Bars for `points` across `size`: heights proportional to value on a round scale. */
export function barChart(points: { label: string; value: number }[], size: ChartSize = CHART): ChartModel {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const base = size.height - size.bottom;
  const plot = base - size.top;
  const slot = points.length > 0 ? size.width / points.length : size.width;
  const width = Math.max(1, slot - size.gap);
  const bars = points.map((p, i) => {
    const v = Math.max(0, p.value);
    const height = (v / max) * plot;
    return { x: i * slot + size.gap / 2, y: base - height, width, height, value: p.value, label: p.label };
  });
  return { width: size.width, height: size.height, max, base, bars };
}

/** Which bars get an axis label: about `every`-th one, and always the last (today). */
export function labelledBars(count: number, maxLabels: number): Set<number> {
  const out = new Set<number>();
  if (count === 0) return out;
  const step = Math.max(1, Math.ceil(count / Math.max(1, maxLabels)));
  for (let i = count - 1; i >= 0; i -= step) out.add(i);
  return out;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Unix seconds as the local date "YYYY-MM-DD". */
export function formatDate(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A bucket's axis label: local "MM-DD" of its first day. */
export function bucketLabel(start: number): string {
  const d = new Date(start * 1000);
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The viewer's offset from UTC in seconds, east positive (what `fleet_stats` expects). */
export function tzOffsetSecs(date: Date = new Date()): number {
  return -date.getTimezoneOffset() * 60;
}

/** Days as people write them: 7, 2.5, 0.125 (no float noise). */
export function formatDays(days: number): string {
  return String(Math.round(days * 1000) / 1000);
}

/** Credit left at `now`: whole days and hours, or expired; null when the unit never had credit. */
export function creditLeft(
  creditUntil: number | null,
  now: number,
): { expired: boolean; days: number; hours: number } | null {
  if (creditUntil === null) return null;
  const left = creditUntil - now;
  if (left <= 0) return { expired: true, days: 0, hours: 0 };
  return { expired: false, days: Math.floor(left / 86400), hours: Math.floor((left % 86400) / 3600) };
}

export interface ReceiptFields {
  serial: string;
  customer: string | null;
  grouped: string;
  days: number | null;
  issuedAt: number;
  paymentRef: string | null;
}

/** The printed receipt's rows (label key, value), only those that have a value. */
export function receiptRows(r: ReceiptFields): [Key, string][] {
  const rows: [Key, string | null][] = [
    ["units.serial", r.serial],
    ["units.customer", r.customer],
    ["issue.token", r.grouped],
    ["form.days", r.days === null ? null : formatDays(r.days)],
    ["unit.when", formatTime(r.issuedAt)],
    ["form.paymentRef", r.paymentRef],
  ];
  return rows.filter((row): row is [Key, string] => row[1] !== null && row[1] !== "");
}
