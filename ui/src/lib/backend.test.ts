import { describe, expect, it } from "vitest";
import { BackendError } from "./backend";

describe("BackendError.from", () => {
  it("keeps the {code, message} the Rust side rejects with", () => {
    const e = BackendError.from({ code: "BAD_KEY", message: "the key must be 32 hexadecimal characters" });
    expect(e).toBeInstanceOf(BackendError);
    expect([e.code, e.message]).toEqual(["BAD_KEY", "the key must be 32 hexadecimal characters"]);
  });
  it("turns anything else into UNEXPECTED with a message", () => {
    expect(BackendError.from(new Error("boom"))).toMatchObject({ code: "UNEXPECTED", message: "boom" });
    expect(BackendError.from("command issue_token not found")).toMatchObject({
      code: "UNEXPECTED",
      message: "command issue_token not found",
    });
  });
  it("passes a BackendError through", () => {
    const e = new BackendError("TIMEOUT", "no answer");
    expect(BackendError.from(e)).toBe(e);
  });
});
