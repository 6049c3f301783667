// Ledger › Import / export and Ledger › Verify.
// Import: a file path and its kind → a dry-run preview (new / duplicate / conflicting rows
// with their lines) → the import itself with progress and a Cancel that rolls back.
// Export: the OpenPAYGO CSV (raw keys: warned, supervisor PIN when set), the tokens CSV or a
// handover bundle under its own passphrase typed twice, to a path. Verify: the audit chain.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { ExportDone } from "../lib/bindings/ExportDone";
import type { ImportDone } from "../lib/bindings/ImportDone";
import type { ImportPreview } from "../lib/bindings/ImportPreview";
import type { ImportProgressEvent } from "../lib/bindings/ImportProgressEvent";
import type { ImportRequest } from "../lib/bindings/ImportRequest";
import type { VerifyView } from "../lib/bindings/VerifyView";
import {
  canImport,
  checkExport,
  checkImport,
  EXPORT_KINDS,
  EXPORT_SCOPES,
  exportKindKey,
  IMPORT_KINDS,
  importKindKey,
  problemText,
  progressPercent,
  sameImport,
  type ExportForm,
  type ExportScope,
  type ImportForm,
} from "../lib/admin";
import { h } from "../lib/dom";
import { t } from "../lib/i18n";
import { formatTime, UNIT_STATUSES } from "../lib/ledger";
import type { Errors } from "../lib/validate";
import { state, update } from "../store";
import { checkbox, errorBox, field, textInput } from "./common";
import { loadUnits, refreshLedger } from "./units";

interface TransferState {
  imp: ImportForm;
  impErrors: Errors;
  previewed?: ImportRequest;
  preview?: ImportPreview;
  importing: boolean;
  cancelling: boolean;
  progress?: ImportProgressEvent;
  imported?: ImportDone;
  impError?: BackendError;
  exp: ExportForm;
  expErrors: Errors;
  exporting: boolean;
  exported?: ExportDone;
  expError?: BackendError;
  /** Whether the ledger has a supervisor PIN (asked when the screen opens). */
  pinSet: boolean;
  verifying: boolean;
  verified?: VerifyView;
  verifyError?: BackendError;
}

const st: TransferState = {
  imp: { kind: "openpaygo-csv", path: "", bundlePassphrase: "", operator: "" },
  impErrors: {},
  importing: false,
  cancelling: false,
  exp: {
    kind: "openpaygo-csv",
    scope: "all",
    status: "active",
    serials: "",
    path: "",
    overwrite: false,
    supervisorPin: "",
    pass1: "",
    pass2: "",
    withTokens: false,
    operator: "",
  },
  expErrors: {},
  exporting: false,
  pinSet: false,
  verifying: false,
};

/** A closed ledger (auto-lock) sends the user back to the unlock form. */
async function onError(e: unknown, set: (err: BackendError) => void): Promise<void> {
  const err = BackendError.from(e);
  update(() => set(err));
  if (err.code === "LEDGER_CLOSED") await refreshLedger();
}

/** The unlock gate the ledger screens share: a message and a way to the unlock form. */
export function needsUnlock(): HTMLElement | null {
  if (state.ledger?.unlocked) return null;
  return h(
    "div",
    { class: "card", "data-testid": "admin-locked" },
    h("p", {}, t("admin.needsUnlock")),
    h("button", { class: "primary", onclick: () => update((s) => (s.screen = "units")) }, t("admin.goUnlock")),
  );
}

let pinAsked = false;

/** Settings tells the export form whether a supervisor PIN is set. */
export function setPinKnown(set: boolean): void {
  st.pinSet = set;
  pinAsked = true;
}

async function askPinSet(): Promise<void> {
  try {
    const s = await backend.settingsGet();
    update(() => (st.pinSet = s.supervisorPinSet));
  } catch {
    // Shown when the export runs; the form asks for the PIN anyway.
  }
}

async function runPreview(): Promise<void> {
  const checked = checkImport(st.imp);
  if (!checked.ok) {
    update(() => (st.impErrors = checked.errors));
    return;
  }
  update(() => {
    st.impErrors = {};
    st.impError = undefined;
    st.preview = undefined;
    st.previewed = undefined;
    st.imported = undefined;
    st.importing = true;
  });
  try {
    const p = await backend.transferPreview(checked.value);
    update(() => {
      st.preview = p;
      st.previewed = checked.value;
    });
  } catch (e) {
    await onError(e, (err) => (st.impError = err));
  } finally {
    update(() => (st.importing = false));
  }
}

async function runImport(): Promise<void> {
  const checked = checkImport(st.imp);
  // The file, its kind or the passphrase changed since the preview: preview again first.
  if (!checked.ok || !sameImport(st.previewed, checked.value)) return runPreview();
  if (!canImport(st.preview)) return;
  update(() => {
    st.importing = true;
    st.cancelling = false;
    st.progress = undefined;
    st.impError = undefined;
  });
  const unlisten = await backend.onTransferProgress((p) => update(() => (st.progress = p))).catch(() => null);
  try {
    const done = await backend.transferImport(checked.value);
    update(() => {
      st.imported = done;
      st.preview = undefined;
      st.previewed = undefined;
      st.imp.bundlePassphrase = "";
    });
    // Fleet › Units shows the new units without a manual refresh.
    await loadUnits();
  } catch (e) {
    await onError(e, (err) => (st.impError = err));
  } finally {
    unlisten?.();
    update(() => {
      st.importing = false;
      st.cancelling = false;
    });
  }
}

async function cancelImport(): Promise<void> {
  update(() => (st.cancelling = true));
  try {
    await backend.transferCancel();
  } catch (e) {
    await onError(e, (err) => (st.impError = err));
  }
}

async function runExport(): Promise<void> {
  const checked = checkExport(st.exp, st.pinSet);
  if (!checked.ok) {
    update(() => (st.expErrors = checked.errors));
    return;
  }
  update(() => {
    st.expErrors = {};
    st.expError = undefined;
    st.exported = undefined;
    st.exporting = true;
  });
  try {
    const done = await backend.transferExport(checked.value);
    update(() => {
      st.exported = done;
      st.exp.pass1 = "";
      st.exp.pass2 = "";
      st.exp.supervisorPin = "";
    });
  } catch (e) {
    // A PIN set elsewhere (the CLI, another window): show the field it asks for.
    if (BackendError.from(e).code === "SUPERVISOR_PIN_REQUIRED") st.pinSet = true;
    await onError(e, (err) => (st.expError = err));
  } finally {
    update(() => (st.exporting = false));
  }
}

function previewBox(p: ImportPreview): HTMLElement {
  return h(
    "div",
    { class: p.problems.length ? "card preview refused" : "card preview", "data-testid": "import-preview-result" },
    h("h4", {}, t("transfer.previewTitle")),
    h(
      "ul",
      { class: "counts" },
      h("li", { "data-testid": "preview-new" }, t("transfer.new", { n: p.newUnits })),
      h("li", { "data-testid": "preview-duplicates" }, t("transfer.duplicates", { n: p.duplicates })),
      h("li", { "data-testid": "preview-problems" }, t("transfer.problems", { n: p.problems.length })),
      p.tokens ? h("li", {}, t("transfer.tokens", { n: p.tokens })) : null,
    ),
    p.bundleId ? h("p", { class: "muted mono" }, t("transfer.bundleId", { id: p.bundleId })) : null,
    p.problems.length
      ? h(
          "div",
          { class: "error", role: "alert" },
          h("strong", {}, t("transfer.refused")),
          h(
            "ul",
            { "data-testid": "preview-problem-list" },
            p.problems.map((x) => h("li", {}, problemText(x, t("transfer.line")))),
          ),
        )
      : p.newUnits === 0
        ? h("p", { class: "muted", "data-testid": "preview-nothing" }, t("transfer.nothingNew"))
        : null,
    p.warnings.length ? h("ul", { class: "warnings" }, p.warnings.map((w) => h("li", {}, w))) : null,
  );
}

function importCard(): HTMLElement {
  const f = st.imp;
  const ready = canImport(st.preview) && !st.importing;
  const pct = progressPercent(st.progress);
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("transfer.import")),
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void runPreview();
        },
      },
      field(
        "importKind",
        "transfer.kind",
        h(
          "select",
          {
            id: "importKind",
            "data-testid": "import-kind",
            onchange: (e: Event) =>
              update(() => {
                f.kind = (e.target as HTMLSelectElement).value as ImportForm["kind"];
                st.preview = undefined;
              }),
          },
          IMPORT_KINDS.map((k) => h("option", { value: k, selected: k === f.kind }, t(importKindKey(k)))),
        ),
        st.impErrors,
      ),
      field("importPath", "transfer.path", textInput("importPath", f.path, (v) => (f.path = v), { class: "mono", placeholder: t("transfer.pathPlaceholder") }), st.impErrors),
      f.kind === "bundle"
        ? field("importPass", "transfer.bundlePass", textInput("importPass", f.bundlePassphrase, (v) => (f.bundlePassphrase = v), { type: "password" }), st.impErrors)
        : null,
      field("importOperator", "form.operator", textInput("importOperator", f.operator, (v) => (f.operator = v)), st.impErrors),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit", disabled: st.importing, "data-testid": "import-preview" }, t("transfer.preview")),
        h(
          "button",
          {
            type: "button",
            class: "primary",
            disabled: !ready,
            "data-testid": "import-submit",
            onclick: () => void runImport(),
          },
          t("transfer.importNow", { n: st.preview?.newUnits ?? 0 }),
        ),
      ),
    ),
    st.preview ? previewBox(st.preview) : null,
    st.importing && st.progress
      ? h(
          "div",
          { class: "progress", "data-testid": "import-progress" },
          h("progress", { max: 100, value: pct }),
          h("span", {}, t(st.progress.phase === "write" ? "transfer.phase.write" : "transfer.phase.check", { done: st.progress.done, total: st.progress.total })),
          h(
            "button",
            { type: "button", disabled: st.cancelling, "data-testid": "import-cancel", onclick: () => void cancelImport() },
            st.cancelling ? t("transfer.cancelling") : t("transfer.cancel"),
          ),
        )
      : null,
    st.imported
      ? h(
          "p",
          { class: "ok", role: "status", "data-testid": "import-done" },
          t("transfer.imported", { n: st.imported.imported, skipped: st.imported.skipped, tokens: st.imported.tokens }),
        )
      : null,
    errorBox(st.impError, "import-error"),
  );
}

function exportCard(): HTMLElement {
  const f = st.exp;
  return h(
    "section",
    { class: "card tool" },
    h("h3", {}, t("transfer.export")),
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void runExport();
        },
      },
      field(
        "exportKind",
        "transfer.kind",
        h(
          "select",
          {
            id: "exportKind",
            "data-testid": "export-kind",
            onchange: (e: Event) =>
              update(() => {
                f.kind = (e.target as HTMLSelectElement).value as ExportForm["kind"];
                st.expErrors = {};
              }),
          },
          EXPORT_KINDS.map((k) => h("option", { value: k, selected: k === f.kind }, t(exportKindKey(k)))),
        ),
        st.expErrors,
      ),
      f.kind === "openpaygo-csv" ? h("div", { class: "error warn", role: "note", "data-testid": "export-warning" }, t("transfer.keysWarning")) : null,
      field(
        "exportScope",
        "transfer.scope",
        h(
          "select",
          {
            id: "exportScope",
            "data-testid": "export-scope",
            onchange: (e: Event) =>
              update(() => {
                f.scope = (e.target as HTMLSelectElement).value as ExportScope;
                st.expErrors = {};
              }),
          },
          EXPORT_SCOPES.map((k) => h("option", { value: k, selected: k === f.scope }, t(`transfer.scope.${k}`))),
        ),
        st.expErrors,
      ),
      f.scope === "status"
        ? field(
            "exportStatus",
            "transfer.status",
            h(
              "select",
              {
                id: "exportStatus",
                "data-testid": "export-status",
                onchange: (e: Event) => (f.status = (e.target as HTMLSelectElement).value),
              },
              UNIT_STATUSES.filter((x) => x !== "provisioning").map((x) => h("option", { value: x, selected: x === f.status }, x)),
            ),
            st.expErrors,
          )
        : null,
      f.scope === "serials"
        ? field(
            "exportSerials",
            "transfer.serials",
            h(
              "textarea",
              {
                id: "exportSerials",
                "data-testid": "export-serials",
                class: "mono",
                rows: 3,
                placeholder: "SN-000001, SN-000002 …",
                oninput: (e: Event) => (f.serials = (e.target as HTMLTextAreaElement).value),
              },
              f.serials,
            ),
            st.expErrors,
          )
        : null,
      field("exportPath", "transfer.path", textInput("exportPath", f.path, (v) => (f.path = v), { class: "mono", placeholder: t("transfer.pathPlaceholder") }), st.expErrors),
      f.kind === "openpaygo-csv" && st.pinSet
        ? field("exportPin", "form.supervisorPin", textInput("exportPin", f.supervisorPin, (v) => (f.supervisorPin = v), { type: "password", inputmode: "numeric" }), st.expErrors)
        : null,
      f.kind === "bundle"
        ? h(
            "div",
            { class: "row" },
            field("exportPass1", "transfer.bundlePass", textInput("exportPass1", f.pass1, (v) => (f.pass1 = v), { type: "password" }), st.expErrors),
            field("exportPass2", "transfer.bundlePassAgain", textInput("exportPass2", f.pass2, (v) => (f.pass2 = v), { type: "password" }), st.expErrors),
          )
        : null,
      f.kind === "bundle" ? checkbox("exportTokens", "transfer.withTokens", f.withTokens, (v) => (f.withTokens = v)) : null,
      checkbox("exportOverwrite", "transfer.overwrite", f.overwrite, (v) => (f.overwrite = v)),
      field("exportOperator", "form.operator", textInput("exportOperator", f.operator, (v) => (f.operator = v)), st.expErrors),
      h("button", { type: "submit", class: "primary", disabled: st.exporting, "data-testid": "export-submit" }, st.exporting ? t("busy") : t("transfer.exportNow")),
    ),
    st.exported
      ? h(
          "div",
          { class: "ok", role: "status", "data-testid": "export-done" },
          h("p", {}, t("transfer.exported", { units: st.exported.units, tokens: st.exported.tokens, bytes: st.exported.bytes, path: st.exported.path })),
          st.exported.bundleId ? h("p", { class: "muted mono" }, t("transfer.bundleId", { id: st.exported.bundleId })) : null,
          st.exported.rawKeys ? h("p", { class: "field-error" }, t("transfer.keysWarning")) : null,
        )
      : null,
    errorBox(st.expError, "export-error"),
  );
}

export function transferScreen(): HTMLElement {
  const gate = needsUnlock();
  if (!gate && !pinAsked) {
    pinAsked = true;
    void askPinSet();
  }
  if (gate) pinAsked = false;
  return h(
    "section",
    { class: "screen", "data-testid": "screen-transfer" },
    h("h2", {}, t("transfer.title")),
    h("p", { class: "muted" }, t("transfer.intro")),
    gate ?? h("div", { class: "admin-grid" }, importCard(), exportCard()),
  );
}

async function runVerify(): Promise<void> {
  update(() => {
    st.verifying = true;
    st.verifyError = undefined;
    st.verified = undefined;
  });
  try {
    const v = await backend.ledgerVerify();
    update(() => (st.verified = v));
  } catch (e) {
    await onError(e, (err) => (st.verifyError = err));
  } finally {
    update(() => (st.verifying = false));
  }
}

function verifyResult(v: VerifyView): HTMLElement {
  if (v.ok) {
    return h(
      "p",
      { class: "ok", role: "status", "data-testid": "verify-result", "data-ok": "true" },
      t("verify.ok", { rows: v.auditRows, tokens: v.tokens, units: v.units }),
    );
  }
  const row = v.firstBroken;
  return h(
    "div",
    { class: "error", role: "alert", "data-testid": "verify-result", "data-ok": "false" },
    h("strong", {}, t("verify.bad")),
    v.firstBrokenSeq !== null
      ? h(
          "p",
          { "data-testid": "verify-first-broken" },
          t("verify.firstBroken", { seq: v.firstBrokenSeq }),
          row ? h("br") : null,
          row
            ? t("verify.row", { action: row.action, unit: row.unit ?? "—", when: formatTime(row.at), actor: row.actor ?? "—" })
            : null,
        )
      : null,
    h("p", {}, t("verify.problems")),
    h("ul", {}, v.problems.map((p) => h("li", {}, h("code", {}, p.code), " ", p.message))),
  );
}

export function verifyScreen(): HTMLElement {
  return h(
    "section",
    { class: "screen", "data-testid": "screen-verify" },
    h("h2", {}, t("verify.title")),
    h("p", { class: "muted" }, t("verify.intro")),
    state.ledger?.path ? h("p", { class: "muted mono" }, t("ledger.path", { path: state.ledger.path })) : null,
    h("button", { class: "primary", disabled: st.verifying, "data-testid": "verify-run", onclick: () => void runVerify() }, st.verifying ? t("busy") : t("verify.run")),
    st.verified ? verifyResult(st.verified) : null,
    errorBox(st.verifyError, "verify-error"),
  );
}
