// End-to-end test of the desktop app in its real window, through tauri-driver's WebDriver
// endpoint, with nothing but fetch. Run by `cargo xtask e2e-ui`, which starts Xvfb and
// tauri-driver and sets WEBDRIVER_URL, APP_PATH and ARTIFACTS.
//
// Flow: start a simulated device from the UI → see it identified → issue a token for it →
// enter it on the device from the UI → see the device's status change → create a ledger
// (PAYGO_LEDGER), flash without a probe (its error), provision blank simulated devices from
// Station (one, then a batch of three with its report) and see them in Units, add the device
// as a unit, issue from the ledger and see it in the unit's history; screenshots of each
// screen (and of errors, dark theme and French) into ARTIFACTS.
// Then Fleet: sort the Units table, the Overview charts, a customer + tariff, issuing by amount;
// then Ledger › Settings (serial pattern and its preview), Import / export (the OpenPAYGO CSV
// out and back in: all duplicates) and Verify.

import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Session, check, tid } from "./webdriver.mjs";

const WD = process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444";
const APP = process.env.APP_PATH;
const OUT = process.env.ARTIFACTS ?? "target/ui-artifacts";
const LEDGER = process.env.PAYGO_LEDGER ?? "";
if (!APP) throw new Error("APP_PATH is not set");
mkdirSync(OUT, { recursive: true });

const t0 = Date.now();
const timings = {};
const mark = (name) => {
  timings[name] = Date.now() - t0;
  console.log(`e2e: ${name} at ${timings[name]} ms`);
};

// The WebDriver client (shared with the benchmark), under the short names this flow uses.
const driver = new Session(WD);
let session;
const s = (path) => driver.s(path);
const wd = (method, path, body) => driver.wd(method, path, body);
const find = (css) => driver.find(css);
const retry = (what, f, timeoutMs) => driver.retry(what, f, timeoutMs);
const waitFor = (css, test, timeoutMs) => driver.waitFor(css, test, timeoutMs);
const click = (css) => driver.click(css);
const type = (css, text) => driver.type(css, text);
const attr = (css, name) => driver.attr(css, name);
const shot = (name) => driver.shot(OUT, name);

/** Units in the ledger once Station and Fleet have run: SN-000001…5, E2E-1, E2E-0. */
const UNITS_IN_LEDGER = 7;

async function main() {
  const launch = Date.now();
  await driver.start(APP);
  session = driver.id;
  mark("session");
  await waitFor(tid("screen-devices"));
  mark("first_paint");
  timings.launch_to_screen_ms = Date.now() - launch;
  timings.in_page_first_paint_ms = Number(
    await wd("POST", s("/execute/sync"), {
      script: "return document.documentElement.dataset.firstPaintMs ?? ''",
      args: [],
    }),
  );
  // Start from the defaults (English, light): the webview keeps preferences between runs.
  // A mark on the old page tells it from the reloaded one (no fixed sleep).
  await wd("POST", s("/execute/sync"), {
    script: "window.__beforeReload = true; localStorage.clear(); location.reload(); return 1",
    args: [],
  });
  await retry("the page to reload", async () =>
    (await wd("POST", s("/execute/sync"), { script: "return window.__beforeReload === true", args: [] }).catch(() => true)) ===
    false
      ? true
      : undefined,
  );
  await waitFor(tid("nav-devices"), (x) => x === "Devices");
  // A fixed window size: the 1280×800 laptop this is designed for.
  await wd("POST", s("/window/rect"), { width: 1280, height: 760 }).catch(() => {});
  await shot("01-devices-empty");

  // Try without hardware: a simulated device appears, identified over its pty.
  await click(tid("sim-start"));
  const serial = await waitFor(`${tid("device-card")} ${tid("device-serial")}`, (x) => x.startsWith("SIM-"));
  const before = await waitFor(tid("device-state"), (x) => x.length > 0);
  check(/Inactive/.test(before), `new simulated device is inactive (got ${before})`);
  const countBefore = Number(await waitFor(tid("device-count")));
  simPort = await wd("POST", s("/execute/sync"), {
    script: "return document.querySelector('[data-testid=device-card]').dataset.port",
    args: [],
  });
  mark("sim_identified");
  await shot("02-devices-simulated");

  // Issue a token for it: the form is prefilled with its key, starting code and count.
  await click(tid("issue-for-device"));
  await waitFor(tid("issue-target"), (x) => x.includes(serial));
  await type(tid("days"), "7");
  await click(tid("issue-submit"));
  const grouped = await waitFor(tid("issued-token"), (x) => /^\d{3} \d{3} \d{3}$/.test(x));
  const digits = await attr(tid("issued-token"), "data-digits");
  check(grouped.replaceAll(" ", "") === digits, "grouped token matches its digits");
  const sms = await waitFor(tid("issued-sms"));
  check(sms === `Your token: ${grouped}`, `SMS text (got ${sms})`);
  await click(tid("copy-token"));
  await waitFor(tid("copy-token"), (x) => x === "Copied");
  mark("token_issued");
  await shot("03-issue-token");

  // Enter it on the device from the UI.
  await click(tid("issue-enter"));
  await waitFor(tid("issue-entry-result"), (x) => x.includes("ADD_TIME"));
  mark("token_entered");
  await shot("04-issue-entered");

  await click(tid("nav-devices"));
  const after = await waitFor(tid("device-state"), (x) => /Active/.test(x) && !/Inactive/.test(x));
  const credit = await waitFor(tid("device-credit"));
  check(/^(6 d 23 h|7 d 0 h)/.test(credit), `7 days of credit (got ${credit})`);
  const countAfter = Number(await waitFor(tid("device-count")));
  check(countAfter > countBefore, `count went up (${countBefore} → ${countAfter})`);
  console.log(`e2e: device ${serial}: ${before} → ${after}, credit ${credit}, count ${countBefore} → ${countAfter}`);
  await shot("05-devices-after-token");

  // The same token again, typed on the device card: refused.
  await type(tid("device-token"), grouped);
  await click(tid("device-enter"));
  await waitFor(tid("device-entry-result"), (x) => x.includes("ALREADY_USED"));

  // A port with nothing on it: a clear error with its code, not a blank screen.
  await type(tid("port-path"), "/dev/nonexistent-paygo");
  await click(tid("port-read"));
  const err = await waitFor(tid("device-error"), (x) => x.includes("PORT"));
  check(err.includes("Error PORT"), `error shows its code (got ${err})`);
  await shot("06-devices-error");

  // Check token: the issued token on a device that has not seen it, then a bad key.
  const key = await waitFor(tid("device-key"));
  const startingCode = await waitFor(tid("device-starting-code"));
  await click(tid("nav-decode"));
  await type(tid("token"), grouped);
  await type(tid("decode-key"), key);
  await type(tid("decode-startingCode"), startingCode);
  await type(tid("decode-count"), String(countBefore));
  await click(tid("decode-submit"));
  await waitFor(tid("decoded"), (x) => x.includes("ADD_TIME") && x.includes("7 days"));
  await shot("07-check-token");
  await type(tid("decode-key"), "not-a-key");
  await click(tid("decode-submit"));
  await waitFor(tid("invalid-key"));
  await shot("07-check-token-invalid");

  // Fleet › Units: create the ledger (PAYGO_LEDGER, a fresh temp file), add the simulated
  // device as a unit, issue from the ledger, see it in the history; a repeated payment
  // reference returns the same token; lock, a wrong passphrase, unlock.
  await click(tid("nav-units"));
  await waitFor(tid("ledger-create-form"));
  const ledgerPath = await waitFor(tid("ledger-path"));
  check(!LEDGER || ledgerPath.includes(LEDGER), `ledger at PAYGO_LEDGER (got ${ledgerPath})`);
  await type(tid("pass1"), "field office 7");
  await type(tid("pass2"), "field office 8");
  await click(tid("ledger-submit"));
  await waitFor(tid("invalid-pass1"), (x) => x.includes("differ"));
  await type(tid("pass2"), "field office 7");
  await click(tid("ledger-submit"));
  await waitFor(tid("screen-units"), () => true, 30_000);
  await waitFor(tid("units-none"));
  mark("ledger_created");
  await station();
  await click(tid("nav-units"));
  await waitFor(tid("unit-row-SN-000001"));
  // With units in the ledger, the Add unit form starts folded (and folds again on a redraw).
  const unfold = () =>
    wd("POST", s("/execute/sync"), {
      script: "const d = document.querySelector('details.add-unit'); if (d) d.open = true; return 1",
      args: [],
    });
  await unfold();
  await type(tid("newSerial"), "E2E-1");
  await unfold();
  await type(tid("newKey"), key);
  await unfold();
  await type(tid("newStartingCode"), startingCode);
  await unfold();
  await click(tid("add-unit-submit"));
  await waitFor(tid("unit-row-E2E-1"));
  await waitFor(tid("history-none"));
  await type(tid("ldays"), "7");
  await type(tid("paymentRef"), "MPESA-E2E-1");
  await type(tid("amount"), "500");
  await click(tid("lissue-submit"));
  const ledgerToken = await waitFor(tid("lissued-token"), (x) => /^\d{3} \d{3} \d{3}$/.test(x));
  const ledgerDigits = await attr(tid("lissued-token"), "data-digits");
  const history = await waitFor(tid("history"), (x) => x.includes(ledgerToken));
  check(history.includes("MPESA-E2E-1"), `history shows the payment reference (got ${history})`);
  const ledgerSms = await waitFor(tid("lissued-sms"));
  check(ledgerSms === `Your token: ${ledgerToken}`, `ledger SMS text (got ${ledgerSms})`);
  mark("ledger_token_issued");
  await shot("09-units-issued");
  await type(tid("paymentRef"), "MPESA-E2E-1");
  await click(tid("lissue-submit"));
  await waitFor(tid("lissued-idempotent"));
  check((await attr(tid("lissued-token"), "data-digits")) === ledgerDigits, "same payment ref, same token");
  await click(tid("ledger-lock"));
  await waitFor(tid("ledger-unlock-form"));
  await type(tid("pass1"), "not the passphrase");
  await click(tid("ledger-submit"));
  await waitFor(tid("ledger-error"), (x) => x.includes("WRONG_PASSPHRASE"), 30_000);
  await shot("10-ledger-wrong-passphrase");
  await type(tid("pass1"), "field office 7");
  await click(tid("ledger-submit"));
  await waitFor(tid("unit-row-E2E-1"), () => true, 30_000);
  mark("ledger_unlocked");

  // Dark theme, French.
  await click(tid("theme"));
  await wd("POST", s("/execute/sync"), {
    script:
      "const l = document.querySelector('[data-testid=lang]'); l.value = 'fr'; l.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  await click(tid("nav-issue"));
  await waitFor(tid("issued-sms"), (x) => x.startsWith("Votre code"));
  await shot("08-issue-dark-fr");

  // Fleet: back to English and the light theme; a second unit, then sort the Units table by
  // clicking its headers; the Overview's chart shows the 7 days issued above; assign a
  // customer + tariff in the unit detail, find the unit by the customer's phone, issue by
  // amount and see the days before and after issuing, and the printable receipt.
  await click(tid("theme"));
  await wd("POST", s("/execute/sync"), {
    script:
      "const l = document.querySelector('[data-testid=lang]'); l.value = 'en'; l.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  const rowOrder = async () =>
    wd("POST", s("/execute/sync"), {
      script:
        "return [...document.querySelectorAll('[data-testid=units-table] tbody tr')].map((r) => r.dataset.testid.replace('unit-row-', '')).filter((sn) => sn.startsWith('E2E-')).join(',')",
      args: [],
    });
  const waitOrder = (want) =>
    retry(`units in order ${want}`, async () => ((await rowOrder()) === want ? true : undefined)).catch(async (e) => {
      throw new Error(`${e.message}; order: ${await rowOrder()}`);
    });
  await click(tid("nav-units"));
  await waitFor(tid("unit-row-E2E-1"));
  // Open the "Add unit" panel whether or not it still is.
  await wd("POST", s("/execute/sync"), { script: "document.querySelector('details.add-unit').open = true; return 1", args: [] });
  await type(tid("newSerial"), "E2E-0");
  await type(tid("newKey"), key);
  await click(tid("add-unit-submit"));
  await waitFor(tid("unit-row-E2E-0"));
  await waitOrder("E2E-0,E2E-1");
  await click(tid("sort-serial"));
  await waitOrder("E2E-1,E2E-0");
  await click(tid("sort-credit_until"));
  await waitOrder("E2E-0,E2E-1");
  await click(tid("sort-credit_until"));
  await waitOrder("E2E-1,E2E-0");
  check((await attr('th[aria-sort="descending"]', "aria-sort")) === "descending", "sorted column marked");
  await waitFor(tid("credit-E2E-1"), (x) => /left/.test(x));
  await shot("20-fleet-sorted");
  mark("fleet_sorted");

  const daysToday = async () => Number(await attr(tid("chart-days-last"), "data-value"));
  await click(tid("nav-overview"));
  await waitFor(tid("chart-days"));
  await retry("the days chart shows today's 7 days", async () => ((await daysToday()) === 7 ? true : undefined));
  check(Number(await attr(tid("chart-tokens-last"), "data-value")) === 1, "one token issued today");
  // Station's five (SN-000001…5), E2E-1 and E2E-0.
  await waitFor(tid("chart-status"), (x) => x.includes(`${UNITS_IN_LEDGER} units`));
  await shot("21-overview");
  await click(tid("overview-weekly"));
  await retry("weekly bars", async () => ((await daysToday()) === 7 && (await find(tid("overview-weekly") + ".active")) ? true : undefined));
  mark("fleet_overview");

  await click(tid("nav-units"));
  await openRow("E2E-1");
  await waitFor(tid("unit-customer"), (x) => /Not assigned/.test(x));
  await type(tid("customerName"), "Awa Diop");
  await type(tid("customerPhone"), "+221 77 123 45 67");
  await type(tid("tariff"), "2.5");
  await click(tid("assign-submit"));
  await waitFor(tid("unit-customer"), (x) => x === "Awa Diop");
  await waitFor(tid("unit-tariff"), (x) => x.includes("2.5"));
  await waitFor(tid("payments"), (x) => x.includes("MPESA-E2E-1"));
  await shot("22-unit-detail-customer");

  // Field staff: find the unit by the customer's phone, issue by amount.
  await openRow("E2E-0");
  await waitFor(tid("unit-customer"), (x) => /Not assigned/.test(x));
  await type(tid("pickSearch"), "77 123");
  await click(tid("pick-E2E-1"));
  await waitFor(tid("unit-customer"), (x) => x === "Awa Diop");
  await wd("POST", s("/execute/sync"), {
    script:
      "const a = document.querySelector('[data-testid=laction]'); a.value = 'ADD_AMOUNT'; a.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  // The form sits below the unit's facts: bring it into view (main is the scroll container).
  await reveal(tid("amount"));
  await type(tid("amount"), "4");
  const quoted = await waitFor(tid("lquote"), (x) => x.includes("10 days"));
  check((await attr(tid("lquote"), "data-days")) === "10", `4 × 2.5 = 10 days before issuing (got ${quoted})`);
  await reveal(tid("paymentRef"));
  await type(tid("paymentRef"), "MPESA-E2E-2");
  await reveal(tid("lissue-submit"));
  await click(tid("lissue-submit"));
  await waitFor(tid("lissued-days"), (x) => x === "10 days");
  const amountToken = await waitFor(tid("lissued-token"), (x) => /^\d{3} \d{3} \d{3}$/.test(x));
  const receipt = await waitFor(tid("receipt"), (x) => x.includes("MPESA-E2E-2"));
  for (const part of ["E2E-1", "Awa Diop", amountToken, "10"]) check(receipt.includes(part), `receipt shows ${part} (got ${receipt})`);
  check((await waitFor(tid("lissued-sms"))) === `Your token: ${amountToken}`, "SMS text of the amount token");
  await waitFor(tid("payments"), (x) => x.includes("MPESA-E2E-2"));
  await wd("POST", s("/execute/sync"), {
    script: "document.querySelector('[data-testid=lissued]').scrollIntoView({ block: 'start' }); return 1",
    args: [],
  });
  await shot("23-token-receipt");
  await click(tid("nav-overview"));
  await retry("the days chart adds the 10 days", async () => ((await daysToday()) === 17 ? true : undefined));
  mark("fleet_issued_by_amount");

  // Ledger › Settings, Import / export, Verify. Back to English and light with the
  // Settings screen's own language and theme widgets (the sidebar's code), then set the
  // serial pattern and see the preview follow the typing.
  await click(tid("nav-settings"));
  await waitFor(tid("screen-settings"));
  await wd("POST", s("/execute/sync"), {
    script:
      "const l = document.querySelector('[data-testid=settings-lang]'); l.value = 'en'; l.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  await waitFor(tid("nav-settings"), (x) => x === "Settings");
  const theme = () => wd("POST", s("/execute/sync"), { script: "return document.documentElement.dataset.theme", args: [] });
  for (const want of (await theme()) === "dark" ? ["light"] : ["dark", "light"]) {
    await click(tid("settings-theme"));
    await retry(`${want} theme`, async () => ((await theme()) === want ? true : undefined));
  }
  // The next serials of the default pattern (Station has used the first five).
  await waitFor(tid("settings-preview"), (x) => x.includes("SN-000006"));
  await type("#serialPattern", "E2E{yyyy}-{seq:04}");
  const year = new Date().getUTCFullYear();
  await waitFor(tid("settings-preview"), (x) => x.includes(`E2E${year}-0001, E2E${year}-0002`));
  await type("#serialPattern", "E2E-{sq}");
  await waitFor(tid("settings-preview-error"), (x) => x.includes("BAD_SERIAL_PATTERN"));
  await type("#serialPattern", "E2E{yyyy}-{seq:04}");
  await waitFor(tid("settings-preview"), (x) => x.includes(`E2E${year}-0001`));
  await click(tid("settings-pattern-save"));
  await waitFor(tid("settings-pattern-saved"));
  // A named tariff plan, offered later when a unit is assigned to a customer.
  await click(tid("tariff-add"));
  await type(tid("tariff-name-0"), "Solar 50");
  await type(tid("tariff-days-0"), "2.5");
  await type(tid("tariff-currency-0"), "XOF");
  await click(tid("settings-tariffs-save"));
  await waitFor(tid("settings-tariffs-saved"));
  await shot("32-settings");
  mark("settings_saved");

  // Export the OpenPAYGO CSV (warned: raw keys) to a temp path, import it back: all duplicates.
  const csvPath = join(tmpdir(), `openpaygo-e2e-${process.pid}-units.csv`);
  rmSync(csvPath, { force: true });
  await click(tid("nav-transfer"));
  await waitFor(tid("export-warning"), (x) => x.includes("raw device keys"));
  await type(tid("exportPath"), csvPath);
  await click(tid("export-submit"));
  const exported = await waitFor(tid("export-done"), (x) => x.includes(csvPath));
  check(exported.includes(`Wrote ${UNITS_IN_LEDGER} units`), `export wrote every unit (got ${exported})`);
  check(readFileSync(csvPath, "utf8").startsWith("Serial Number,"), "the CSV has the OpenPAYGO header");
  await type(tid("importPath"), csvPath);
  await click(tid("import-preview"));
  await waitFor(tid("preview-duplicates"), (x) => x.endsWith(`: ${UNITS_IN_LEDGER}`));
  await waitFor(tid("preview-new"), (x) => /: 0$/.test(x));
  await waitFor(tid("preview-problems"), (x) => /: 0$/.test(x));
  await click(tid("import-submit"));
  const imported = await waitFor(tid("import-done"), (x) => x.includes(`Imported 0 units (${UNITS_IN_LEDGER} already there`));
  console.log(`e2e: ${imported}`);
  await shot("30-import-export");
  rmSync(csvPath, { force: true });
  // A handover of two units by serial (as pasted from a batch report).
  const handoverPath = join(tmpdir(), `openpaygo-e2e-${process.pid}-handover.csv`);
  rmSync(handoverPath, { force: true });
  await wd("POST", s("/execute/sync"), {
    script:
      "const e = document.querySelector('[data-testid=export-scope]'); e.value = 'serials'; e.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  await type(tid("export-serials"), "SN-000002 SN-000001, SN-000002");
  await type(tid("exportPath"), handoverPath);
  await click(tid("export-submit"));
  await waitFor(tid("export-done"), (x) => x.includes(handoverPath) && x.includes("Wrote 2 units"));
  const handover = readFileSync(handoverPath, "utf8").trim().split(/\r?\n/).slice(1).map((l) => l.split(",")[0]);
  check(handover.join(" ") === "SN-000001 SN-000002", `the handover holds the two serials (got ${handover})`);
  rmSync(handoverPath, { force: true });
  mark("import_export");

  // Verify: the audit chain of everything above holds.
  await click(tid("nav-verify"));
  await click(tid("verify-run"));
  const verified = await waitFor(tid("verify-result"), (x) => x.startsWith("OK"));
  check((await attr(tid("verify-result"), "data-ok")) === "true", `verify OK (got ${verified})`);
  await shot("31-verify");
  // The whole loop on the device Station provisioned: issue for SN-000001 from the ledger,
  // see it in the unit's history, enter it on that device (Devices), see its state change.
  await openUnit("SN-000001");
  // Assign a customer on the "Solar 50" plan from Settings: the plan fills the tariff.
  await wd("POST", s("/execute/sync"), {
    script:
      "const p = document.querySelector('[data-testid=tariff-plan]'); p.value = 'Solar 50'; p.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  check((await attr("#tariff", "value")) === "2.5", "the plan fills the tariff");
  await type(tid("customerName"), "Moussa Ba");
  await click(tid("assign-submit"));
  await waitFor(tid("unit-tariff"), (x) => x.includes("2.5"));
  await wd("POST", s("/execute/sync"), {
    script:
      "const a = document.querySelector('[data-testid=laction]'); a.value = 'ADD_TIME'; a.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  await type(tid("ldays"), "3");
  await type(tid("paymentRef"), "MPESA-E2E-SN1");
  await click(tid("lissue-submit"));
  const snToken = await waitFor(tid("lissued-token"), (x) => /^\d{3} \d{3} \d{3}$/.test(x));
  await waitFor(tid("history"), (x) => x.includes(snToken) && x.includes("MPESA-E2E-SN1"));
  await click(tid("nav-devices"));
  const card = await retry("the provisioned device's card", async () =>
    wd("POST", s("/execute/sync"), {
      script:
        "const c = [...document.querySelectorAll('[data-testid=device-card]')].find((c) => c.querySelector('[data-testid=device-serial]')?.textContent.includes('SN-000001')); return c ? c.dataset.port : undefined",
      args: [],
    }).then((p) => p ?? undefined),
  );
  const inCard = (id) => `[data-testid="device-card"][data-port="${card}"] ${tid(id)}`;
  await click(inCard("device-refresh"));
  const snBefore = await waitFor(inCard("device-state"), (x) => x.length > 0);
  check(/Inactive/.test(snBefore), `SN-000001 starts without credit (got ${snBefore})`);
  await type(inCard("device-token"), snToken);
  await click(inCard("device-enter"));
  await waitFor(inCard("device-entry-result"), (x) => x.includes("ADD_TIME"));
  await waitFor(inCard("device-state"), (x) => /Active/.test(x) && !/Inactive/.test(x));
  const snCredit = await waitFor(inCard("device-credit"));
  check(/^(2 d 23 h|3 d 0 h)/.test(snCredit), `3 days of credit on SN-000001 (got ${snCredit})`);
  await shot("40-provisioned-device-token");
  // Its "Issue token" opens its unit in the ledger (the key is there only).
  await click(inCard("issue-for-device"));
  await waitFor(tid("unit-detail"), (x) => x.includes("SN-000001") && x.includes("MPESA-E2E-SN1"));
  mark("provisioned_device_token");

  // A unit whose 865-day chain repeats every 2 counts from count 34 (firmware-core's
  // `a_token_on_a_chain_cycle_is_accepted_again`): the ledger refuses that token with a coded
  // error and advice, records nothing, and the next number of days issues as usual.
  const cyclePath = join(tmpdir(), `openpaygo-e2e-${process.pid}-cycle.csv`);
  writeFileSync(
    cyclePath,
    "Serial Number,Starting Code,Key,Count,Time Divider,Restricted Digit Mode\n" +
      "CYCLE-1,171199660,0f050c57179f09e46b9f34348ab64974,32,1,0\n",
  );
  await click(tid("nav-transfer"));
  await type(tid("importPath"), cyclePath);
  await click(tid("import-preview"));
  await waitFor(tid("preview-new"), (x) => /: 1$/.test(x));
  await click(tid("import-submit"));
  await waitFor(tid("import-done"), (x) => x.includes("Imported 1 unit"));
  rmSync(cyclePath, { force: true });
  await openUnit("CYCLE-1");
  await wd("POST", s("/execute/sync"), {
    script:
      "const a = document.querySelector('[data-testid=laction]'); a.value = 'ADD_TIME'; a.dispatchEvent(new Event('change')); return 1",
    args: [],
  });
  await type(tid("ldays"), "865");
  await type(tid("paymentRef"), "MPESA-E2E-CY1");
  await click(tid("lissue-submit"));
  await waitFor(
    tid("lissue-error"),
    (x) => x.includes("TOKEN_WOULD_REPEAT") && x.includes("every 2 counts") && x.includes("Issue 864 days now, then 1 day"),
  );
  await waitFor(tid("lissue-error-advice"), (x) => x.startsWith("Adding days or an amount: issue one day less"));
  check((await find(tid("lissued-token"))) === null, "no token is shown for a refused issue");
  await reveal(tid("lissue-error"));
  await shot("41-token-would-repeat");
  await type(tid("ldays"), "864");
  await click(tid("lissue-submit"));
  const cyToken = await waitFor(tid("lissued-token"), (x) => /^\d{3} \d{3} \d{3}$/.test(x));
  await waitFor(tid("history"), (x) => x.includes(cyToken) && x.includes("MPESA-E2E-CY1"));
  mark("token_would_repeat");

  // Notes on a unit: written, saved, shown with the unit's facts.
  await click(tid("notes-open"));
  await type(tid("notesText"), "Behind the school. Ask for Awa.");
  await click(tid("notes-submit"));
  await waitFor(tid("notes-saved"));
  await waitFor(tid("unit-notes"), (x) => x === "Behind the school. Ask for Awa.");
  await reveal(tid("notesText"));
  await shot("42-unit-notes");
  mark("unit_notes");

  mark("done");
}

/** Units › search for `serial` › open it. The click waits for the search's own list: a row
 * clicked while the list is redrawn can be a detached element, and the click is lost. */
async function openUnit(serial) {
  await click(tid("nav-units"));
  await type("#unitsSearch", serial);
  await click(tid("units-search"));
  await retry(`the list of ${serial} alone`, async () => {
    const rows = await driver.exec(
      "return [...document.querySelectorAll('[data-testid^=\"unit-row-\"]')].map((r) => r.dataset.testid)",
    );
    return rows.length === 1 && rows[0] === `unit-row-${serial}` ? true : undefined;
  });
  await openRow(serial);
}

/** Click `serial`'s row until its detail shows: the screen may redraw the list (a reload on
 * entering Units, a search) between finding the row and clicking it, and such a click is lost. */
async function openRow(serial) {
  // The panel's heading names the unit shown (its text also holds the picker's results).
  const shown = () =>
    driver.exec("return document.querySelector('[data-testid=unit-detail] h3')?.textContent.startsWith(arguments[0]) === true", [serial]);
  await retry(`opening ${serial}`, async () => {
    const row = await find(`${tid(`unit-row-${serial}`)} td`);
    if (!row) return undefined;
    await wd("POST", s(`/element/${row}/click`), {}).catch(() => undefined);
    for (let i = 0; i < 20; i++) {
      if (await shown()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  });
}

/** Scroll an element into view before a screenshot (the screens are taller than the window). */
async function reveal(css) {
  await wd("POST", s("/execute/sync"), {
    script: "const el = document.querySelector(arguments[0]); if (el) el.scrollIntoView({ block: 'center' }); return 1",
    args: [css],
  });
}

/** The committed firmware image (linked for the nRF51822), so the flash gets past its checks. */
const FIXTURE = fileURLToPath(new URL("../../src-tauri/backend/tests/fixtures/size-probe-nrf51.elf", import.meta.url));

// Station: flashing without a probe (its error and hint), then a blank simulated device
// provisioned into the ledger from the UI (serial from the pattern, label), then a batch of
// three blank simulated devices with its live rows and report. The units land in Units with no
// key typed anywhere.
async function station() {
  await click(tid("nav-station"));
  await waitFor(tid("screen-station"));
  // The probes and images load first (and prefill the image field): type after that.
  await waitFor(tid("probes-refresh"), (x) => x === "Refresh");
  await type(tid("flash-chip"), "nRF51822_xxAA");
  await type(tid("flash-image"), FIXTURE);
  await click(tid("flash-check"));
  await waitFor(tid("flash-checked"), (x) => x.includes("nRF51822_xxAA"));
  await click(tid("flash-start"));
  // No probe on the test machine: a clear error with its code and what to do.
  const flashErr = await waitFor(tid("flash-error"), (x) => x.includes("NO_PROBE"), 30_000);
  check(flashErr.includes("Error NO_PROBE"), `no-probe error shows its code (got ${flashErr})`);
  await waitFor(tid("flash-error-advice"), (x) => x.length > 0);
  await reveal(tid("flash-error"));
  mark("station_flash_no_probe");
  await shot("10-station-flash");

  await click(tid("station-sim-blank"));
  await waitFor(tid("station-devices"), (x) => x.includes("blank"));
  await type(tid("station-model"), "SHS-10");
  await click(tid("station-provision"));
  const serial = await waitFor(tid("station-serial"), (x) => /^SN-\d{6}$/.test(x), 30_000);
  check(serial === "SN-000001", `first serial of the default pattern (got ${serial})`);
  const line = await waitFor(tid("station-label-line"), (x) => x.startsWith(serial));
  check(/ · SHS-10 · \d{4}-\d{2}-\d{2} · fw \S+ · protocol \d+$/.test(line), `label line (got ${line})`);
  check(!/[0-9a-f]{32}/i.test(await waitFor(tid("provision-card"))), "no key on the screen");
  await click(tid("label-copy"));
  await waitFor(tid("label-copy"), (x) => x === "Copied");
  // The same device again: refused, left untouched.
  await click(tid("station-provision"));
  await waitFor(tid("station-error"), (x) => x.includes("ALREADY_PROVISIONED"), 30_000);
  await click(tid("station-sim-blank"));
  await waitFor(tid("station-devices"), (x) => (x.match(/blank/g) ?? []).length === 1 && x.includes(serial));
  await click(tid("station-provision"));
  await waitFor(tid("station-serial"), (x) => x === "SN-000002", 30_000);
  await reveal(tid("station-label"));
  mark("station_provisioned");
  await shot("11-station-provisioned");

  await click(tid("nav-batch"));
  await waitFor(tid("screen-batch"));
  await click(tid("batch-sims"));
  await waitFor(tid("batch-start"), (x) => x.includes("3"), 30_000);
  await click(tid("batch-start"));
  const summary = await waitFor(tid("batch-summary"), (x) => x.includes("0 to go"), 60_000);
  check(summary.startsWith("3 provisioned · 0 failed"), `batch summary (got ${summary})`);
  const report = await waitFor(tid("batch-report"));
  const rows = report.trim().split("\n");
  check(rows[0] === "serial,port,started,duration_ms,result,error_code,error_message", `report header (got ${rows[0]})`);
  check(rows.length === 4 && rows.slice(1).every((r) => /^SN-00000[345],.*,ok,,$/.test(r)), `report rows (got ${report})`);
  const reportPath = join(resolve(OUT), "batch-report.csv");
  await type(tid("report-path"), reportPath);
  await click(tid("report-save"));
  await waitFor(tid("report-saved"), (x) => x.includes(reportPath));
  check(readFileSync(reportPath, "utf8").trim() === report.trim(), "saved report is the one shown");
  // The label lines of the session: the two provisioned one by one and the batch's three.
  const labelsPath = join(resolve(OUT), "labels.csv");
  await type(tid("labels-path"), labelsPath);
  await click(tid("labels-save"));
  await waitFor(tid("labels-saved"), (x) => x.includes(labelsPath));
  const labels = readFileSync(labelsPath, "utf8").trim().split("\n");
  check(labels.length === 6 && labels.slice(1).every((l, i) => l.startsWith(`SN-00000${i + 1},SHS-10,`)), `labels CSV (got ${labels.join(" | ")})`);
  await reveal(tid("batch-report"));
  mark("station_batch");
  await shot("12-station-batch");
}

let simPort = "";
/** The link itself, not its target (a dead simulator's pty is gone, its link may not be). */
const linkExists = (p) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

let failed = null;
try {
  await main();
} catch (e) {
  failed = e;
  console.error(`e2e: FAILED: ${e.stack ?? e}`);
  if (session) await shot("failure").catch(() => {});
} finally {
  if (session) await wd("DELETE", s("")).catch(() => {});
  // The app stops its simulators when it ends. A driver may kill it outright (no exit
  // path runs): then the next start removes the dead app's links, so only report it.
  if (!failed && simPort) {
    const until = Date.now() + 3000;
    while (linkExists(simPort) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    console.log(
      linkExists(simPort)
        ? `e2e: note: ${simPort} outlived the app (killed without an exit path; removed at the next start)`
        : `e2e: app ended, simulator link ${simPort} removed`,
    );
  }
  writeFileSync(join(OUT, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
}
if (failed) {
  console.error(`e2e: FAILED: ${failed.message}`);
  process.exit(1);
}
console.log("e2e-ui: 1 passed, 0 failed");
