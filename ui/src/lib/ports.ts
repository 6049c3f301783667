// Serial-port list helpers (unit-tested in ports.test.ts).

import type { PortInfo } from "./bindings/PortInfo";

/** The same ports, in the same order, with the same descriptions: nothing to redraw. */
export function samePorts(a: readonly PortInfo[], b: readonly PortInfo[]): boolean {
  return a.length === b.length && a.every((p, i) => JSON.stringify(p) === JSON.stringify(b[i]));
}
