import { describe, expect, it } from "vitest";
import { errorHint, hasKey, keysOf, pickLang, translate } from "./i18n";

describe("i18n", () => {
  it("has the same keys in every language", () => {
    expect(keysOf("fr").sort()).toEqual(keysOf("en").sort());
  });
  it("fills slots and leaves unknown slots visible", () => {
    expect(translate("en", "error.title", { code: "BAD_KEY" })).toBe("Error BAD_KEY");
    expect(translate("fr", "error.title", { code: "BAD_KEY" })).toBe("Erreur BAD_KEY");
    expect(translate("en", "error.title")).toBe("Error {code}");
  });
  it("knows the device's result and state codes", () => {
    for (const code of ["ADD_TIME", "SET_TIME", "DISABLE_PAYG", "COUNTER_SYNC", "INVALID", "ALREADY_USED", "LOCKED"]) {
      expect(hasKey(`result.${code}`)).toBe(true);
    }
    for (const code of ["ACTIVE", "INACTIVE", "UNLOCKED"]) expect(hasKey(`state.${code}`)).toBe(true);
    expect(hasKey("result.SOMETHING_NEW")).toBe(false);
  });
  it("gives advice for the back-end codes it knows, in each language", () => {
    expect(errorHint("en", "TOKEN_WOULD_REPEAT")).toMatch(/^Adding days or an amount: issue one day less.*Setting days/);
    expect(errorHint("fr", "TOKEN_WOULD_REPEAT")).toMatch(/^Pour ajouter des jours .*un jour de moins.*Pour fixer des jours/);
    expect(errorHint("fr", "NO_TARIFF")).toContain("tarif");
    // The station's codes too, wherever they come up (Devices, Station, Batch).
    expect(errorHint("en", "NO_PROBE")).toMatch(/^Plug in the debug probe/);
    expect(errorHint("fr", "PORT_BUSY")).toContain("port");
    expect(errorHint("en", "SOMETHING_NEW")).toBeUndefined();
    expect(errorHint("en", "")).toBeUndefined();
  });
  it("picks the first supported language", () => {
    expect(pickLang(["fr-FR", "en"])).toBe("fr");
    expect(pickLang(["sw", "en-GB"])).toBe("en");
    expect(pickLang([])).toBe("en");
  });
});
