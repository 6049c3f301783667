// Fleet view benchmark in the real app window (run by `cargo xtask bench-app`, which seeds a
// ledger of BENCH_UNITS units named BN-000000…, sets PAYGO_LEDGER and WEBDRIVER_URL).
//
// Each interaction is timed inside the page: from the click (or change) to the DOM showing
// the expected result (a MutationObserver), so WebDriver's own latency is not counted. Raw
// samples go to BENCH_OUT; xtask turns them into min / median / p95 / max.

import { writeFileSync } from "node:fs";
import { Session, check, tid } from "./webdriver.mjs";

const APP = process.env.APP_PATH;
const OUT = process.env.BENCH_OUT;
const PASS = process.env.BENCH_PASSPHRASE;
const UNITS = Number(process.env.BENCH_UNITS ?? "100000");
const ARTIFACTS = process.env.ARTIFACTS;
if (!APP || !OUT || !PASS) throw new Error("APP_PATH, BENCH_OUT and BENCH_PASSPHRASE must be set");

const REPEAT = 15;
const serial = (i) => `BN-${String(i).padStart(6, "0")}`;
const samples = {};
const notes = [];
const add = (name, ms) => {
  check(ms !== -2, `${name}: nothing to click or change`);
  check(ms >= 0, `${name}: the page did not show the result in time`);
  (samples[name] ??= []).push(Math.round(ms * 10) / 10);
};

// Runs in the page: act, then resolve with the milliseconds until `until` holds.
// until: { sel } (exists), { sel, text } (its text contains), { firstRowNot } (the first
// unit row is another one).
const TIMED = `
const [act, until, done] = arguments;
const firstRow = () => document.querySelector('[data-testid^="unit-row-"]')?.dataset.testid ?? '';
const ok = () => {
  if (until.firstRowNot !== undefined) return firstRow() !== '' && firstRow() !== until.firstRowNot;
  const el = document.querySelector(until.sel);
  return !!el && (until.text === undefined || el.textContent.includes(until.text));
};
const t = performance.now();
let finished = false;
const finish = (v) => { if (!finished) { finished = true; obs.disconnect(); done(v); } };
const obs = new MutationObserver(() => { if (ok()) finish(performance.now() - t); });
obs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
setTimeout(() => finish(-1), 20000);
const target = document.querySelector(act.click ?? act.select ?? act.submit);
if (!target) finish(-2);
else if (act.click) target.click();
else if (act.select) {
  target.value = act.value;
  target.dispatchEvent(new Event('change', { bubbles: true }));
} else if (act.submit) target.requestSubmit();
`;

const wd = new Session();
const timed = (act, until) => wd.execAsync(TIMED, [act, until]);
const firstRow = () =>
  wd.exec("return document.querySelector('[data-testid^=\"unit-row-\"]')?.dataset.testid ?? ''");

async function main() {
  await wd.start(APP);
  await wd.waitFor(tid("nav-units"));
  await wd.exec("localStorage.clear(); return 1");
  await wd.wd("POST", wd.s("/window/rect"), { width: 1280, height: 760 }).catch(() => {});
  await wd.click(tid("nav-units"));
  await wd.waitFor(tid("ledger-unlock-form"));
  await wd.type("#pass1", PASS);
  // Unlock (one Argon2id derivation) and the first page of the table.
  add("unlock → first page", await timed({ click: tid("ledger-submit") }, { sel: '[data-testid^="unit-row-"]' }));
  const pageText = await wd.waitFor(tid("units-page"));
  check(pageText.includes(String(UNITS)) || pageText.includes(UNITS.toLocaleString("en")), `table counts ${UNITS} units (got ${pageText})`);
  if (ARTIFACTS) await wd.shot(ARTIFACTS, "bench-fleet-100k");

  for (let i = 0; i < REPEAT; i++) {
    const before = await firstRow();
    add("next page", await timed({ click: tid("units-next") }, { firstRowNot: before }));
  }
  for (let i = 0; i < REPEAT; i++) {
    const before = await firstRow();
    add("previous page", await timed({ click: tid("units-prev") }, { firstRowNot: before }));
  }
  // Search by exact serial, spread over the whole ledger.
  for (let i = 0; i < REPEAT; i++) {
    const sn = serial(Math.floor(((i + 0.5) / REPEAT) * UNITS));
    await wd.type("#unitsSearch", sn);
    add("search by serial", await timed({ click: tid("units-search") }, { sel: tid(`unit-row-${sn}`) }));
  }
  // Back to everything, then filter by status (none match "written_off": the empty result).
  await wd.type("#unitsSearch", "");
  for (let i = 0; i < REPEAT; i++) {
    add("filter: written_off (none)", await timed({ select: "#unitsStatus", value: "written_off" }, { sel: tid("units-none") }));
    const before = await firstRow();
    add("filter: all statuses", await timed({ select: "#unitsStatus", value: "" }, { firstRowNot: before }));
  }
  // Sort by each column, both ways: timed until the header shows the new order (it is
  // redrawn only when the sorted page has arrived).
  for (let i = 0; i < 5; i++) {
    for (const column of ["status", "customer", "credit_until", "last_token", "serial"]) {
      for (const dir of ["ascending", "descending"]) {
        const sel = `th[aria-sort="${dir}"] ${tid(`sort-${column}`)}`;
        add(`sort: ${column}`, await timed({ click: tid(`sort-${column}`) }, { sel }));
      }
    }
  }
  // Open a unit's detail (history, issuing form).
  for (let i = 0; i < REPEAT; i++) {
    const row = await firstRow();
    const sn = row.replace("unit-row-", "");
    await wd.click(tid("units-next"));
    await wd.retry("next page", async () => ((await firstRow()) !== row ? true : undefined));
    const target = (await firstRow()).replace("unit-row-", "");
    check(target !== sn, "moved to another page");
    add("open unit detail", await timed({ click: tid(`unit-row-${target}`) }, { sel: tid("unit-detail"), text: target }));
  }
  if (ARTIFACTS) await wd.shot(ARTIFACTS, "bench-fleet-detail");
}

let failed = null;
try {
  await main();
} catch (e) {
  failed = e;
  console.error(`bench-fleet: FAILED: ${e.stack ?? e}`);
  if (ARTIFACTS && wd.id) await wd.shot(ARTIFACTS, "bench-failure").catch(() => {});
} finally {
  await wd.end();
}
if (failed) process.exit(1);
writeFileSync(OUT, JSON.stringify({ samples, notes }, null, 2) + "\n");
console.log(`bench-fleet: ${Object.keys(samples).length} interactions timed → ${OUT}`);
