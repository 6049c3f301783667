import { describe, expect, it } from "vitest";
import type { PortInfo } from "./bindings/PortInfo";
import { portChanges, samePorts } from "./ports";

const usb = (path: string): PortInfo => ({ path, kind: "USB" });

describe("samePorts", () => {
  it("is true for the same list", () => {
    expect(samePorts([usb("/dev/ttyUSB0")], [usb("/dev/ttyUSB0")])).toBe(true);
    expect(samePorts([], [])).toBe(true);
  });
  it("sees a port plugged in or pulled out", () => {
    expect(samePorts([], [usb("/dev/ttyUSB0")])).toBe(false);
    expect(samePorts([usb("/dev/ttyUSB0"), usb("/dev/ttyUSB1")], [usb("/dev/ttyUSB0")])).toBe(false);
  });
  it("sees a port replaced by another", () => {
    expect(samePorts([usb("/dev/ttyUSB0")], [usb("/dev/ttyACM0")])).toBe(false);
  });
});

describe("portChanges", () => {
  it("names what was plugged in and pulled out", () => {
    expect(portChanges([usb("/dev/ttyUSB0")], [usb("/dev/ttyUSB0"), usb("/dev/ttyACM0")])).toEqual({
      added: ["/dev/ttyACM0"],
      removed: [],
    });
    expect(portChanges([usb("/dev/ttyUSB0"), usb("/dev/ttyACM0")], [usb("/dev/ttyACM0")])).toEqual({
      added: [],
      removed: ["/dev/ttyUSB0"],
    });
  });
  it("is empty when nothing changed", () => {
    expect(portChanges([usb("/dev/ttyUSB0")], [usb("/dev/ttyUSB0")])).toEqual({ added: [], removed: [] });
  });
});
