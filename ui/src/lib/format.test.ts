import { describe, expect, it } from "vitest";
import { digitsOnly, formatDuration, groupDigits } from "./format";
import { smsText } from "./sms";

describe("groupDigits", () => {
  it("groups 9, 12 and 15 digits in threes", () => {
    expect(groupDigits("123456789")).toBe("123 456 789");
    expect(groupDigits("123456789012")).toBe("123 456 789 012");
    expect(groupDigits("123412341234123")).toBe("123 412 341 234 123");
  });
  it("groups 20-digit restricted extended tokens in fours, as the back-end does", () => {
    expect(groupDigits("12341234123412341234")).toBe("1234 1234 1234 1234 1234");
  });
  it("regroups text that was already spaced or dashed", () => {
    expect(groupDigits("12 3456-789")).toBe("123 456 789");
    expect(digitsOnly(" 123 456-789 ")).toBe("123456789");
  });
  it("keeps leading zeros", () => {
    expect(groupDigits("000012345")).toBe("000 012 345");
  });
});

describe("smsText", () => {
  it("is SMS-ready in English and French (GSM 7-bit characters only)", () => {
    expect(smsText("en", "123456789")).toBe("Your token: 123 456 789");
    expect(smsText("fr", "123456789")).toBe("Votre code : 123 456 789");
    expect(smsText("fr", "123456789")).toMatch(/^[A-Za-z0-9 :]+$/);
  });
});

describe("formatDuration", () => {
  it("reads like the CLI", () => {
    expect(formatDuration(0)).toBe("0 min");
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe("3 h 5 min");
    expect(formatDuration(7 * 86400 + 3600)).toBe("7 d 1 h 0 min");
  });
});
