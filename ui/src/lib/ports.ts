// Serial-port list helpers (unit-tested in ports.test.ts).

import type { PortInfo } from "./bindings/PortInfo";

/** The same ports, in the same order, with the same descriptions: nothing to redraw. */
export function samePorts(a: readonly PortInfo[], b: readonly PortInfo[]): boolean {
  return a.length === b.length && a.every((p, i) => JSON.stringify(p) === JSON.stringify(b[i]));
}

/** Paths plugged in (in `next`, not in `prev`) and pulled out (the other way round). */
export function portChanges(
  prev: readonly PortInfo[],
  next: readonly PortInfo[],
): { added: string[]; removed: string[] } {
  const before = new Set(prev.map((p) => p.path));
  const after = new Set(next.map((p) => p.path));
  return {
    added: next.map((p) => p.path).filter((p) => !before.has(p)),
    removed: prev.map((p) => p.path).filter((p) => !after.has(p)),
  };
}
