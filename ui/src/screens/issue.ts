// Station › Issue token: a token from key + last count + action, shown large, ready to read
// out, copy or send by SMS; entered on the device it was opened for, if any.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import type { TokenAction } from "../lib/bindings/TokenAction";
import { h } from "../lib/dom";
import { groupDigits } from "../lib/format";
import { lang, t } from "../lib/i18n";
import { smsText } from "../lib/sms";
import { checkIssue, needsDays } from "../lib/validate";
import { state, update } from "../store";
import { enterOnDevice, resultText } from "./devices";
import { checkbox, errorBox, field, textInput } from "./common";

const ACTIONS: TokenAction[] = ["ADD_TIME", "SET_TIME", "DISABLE_PAYG", "COUNTER_SYNC"];

async function submit(): Promise<void> {
  const checked = checkIssue(state.issue);
  if (!checked.ok) {
    update((s) => {
      s.issueErrors = checked.errors;
      s.issued = undefined;
    });
    return;
  }
  update((s) => {
    s.issueErrors = {};
    s.issueBusy = true;
    s.issueError = undefined;
    s.issueEntry = undefined;
    s.issueEntryError = undefined;
    s.copied = undefined;
  });
  try {
    const issued = await backend.issueToken(checked.value);
    update((s) => {
      s.issued = issued;
      s.issue.lastCount = String(issued.count);
    });
  } catch (e) {
    update((s) => {
      s.issueError = BackendError.from(e);
      s.issued = undefined;
    });
  } finally {
    update((s) => (s.issueBusy = false));
  }
}

/** The async clipboard API, else the older selection copy (some webviews lack the first). */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { readonly: true, style: "position:fixed;left:-9999px" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

export async function copy(what: "token" | "sms", text: string): Promise<void> {
  // When neither works the button stays as it is; the text is selectable on screen.
  if (await copyText(text)) update((s) => (s.copied = what));
}

async function enterOnTarget(): Promise<void> {
  const d = state.devices.find((x) => x.port === state.issueTarget);
  if (!d || !state.issued) return;
  await enterOnDevice(d, state.issued.token);
  update((s) => {
    s.issueEntry = d.entry;
    s.issueEntryError = d.error;
  });
}

export function issueScreen(): HTMLElement {
  const s = state;
  const f = s.issue;
  const target = s.devices.find((x) => x.port === s.issueTarget);
  const issued = s.issued;
  return h(
    "section",
    { class: "screen two-col", "data-testid": "screen-issue" },
    h(
      "div",
      {},
      h("h2", {}, t("issue.title")),
      h("p", { class: "muted" }, t("issue.intro")),
      target?.view
        ? h(
            "p",
            { class: "target", "data-testid": "issue-target" },
            t("issue.forDevice", { serial: target.view.identity.serial ?? "?", port: target.port }),
          )
        : null,
      h(
        "form",
        {
          class: "form",
          novalidate: true,
          onsubmit: (e: Event) => {
            e.preventDefault();
            void submit();
          },
        },
        field("key", "form.key", textInput("key", f.key, (v) => (f.key = v), { class: "mono" }), s.issueErrors),
        h(
          "div",
          { class: "row" },
          field("startingCode", "form.startingCode", textInput("startingCode", f.startingCode, (v) => (f.startingCode = v), { inputmode: "numeric" }), s.issueErrors),
          field("lastCount", "form.lastCount", textInput("lastCount", f.lastCount, (v) => (f.lastCount = v), { inputmode: "numeric" }), s.issueErrors),
        ),
        h(
          "div",
          { class: "row" },
          field(
            "action",
            "form.action",
            h(
              "select",
              {
                id: "action",
                "data-testid": "action",
                onchange: (e: Event) => update(() => (f.action = (e.target as HTMLSelectElement).value as TokenAction)),
              },
              ACTIONS.map((a) => h("option", { value: a, selected: a === f.action }, t(`action.${a}` as const))),
            ),
            s.issueErrors,
          ),
          needsDays(f.action)
            ? field("days", "form.days", textInput("days", f.days, (v) => (f.days = v), { inputmode: "decimal" }), s.issueErrors)
            : null,
          field("divider", "form.divider", textInput("divider", f.divider, (v) => (f.divider = v), { inputmode: "numeric" }), s.issueErrors),
        ),
        h(
          "div",
          { class: "row checks" },
          checkbox("restricted", "form.restricted", f.restricted, (v) => (f.restricted = v)),
          checkbox("extended", "form.extended", f.extended, (v) => (f.extended = v)),
        ),
        h(
          "button",
          { type: "submit", class: "primary big", disabled: s.issueBusy, "data-testid": "issue-submit" },
          s.issueBusy ? t("busy") : t("issue.submit"),
        ),
      ),
      errorBox(s.issueError, "issue-error"),
    ),
    h(
      "div",
      { class: "token-panel" },
      issued
        ? h(
            "div",
            { class: "card issued", "data-testid": "issued" },
            h("span", { class: "muted" }, t("issue.token")),
            h("output", { class: issued.token.length > 12 ? "token long" : "token", "data-testid": "issued-token", "data-digits": issued.token }, groupDigits(issued.token)),
            h(
              "p",
              { class: "muted" },
              t("issue.details", { count: issued.count, type: issued.tokenType, value: issued.value }),
            ),
            h(
              "div",
              { class: "buttons" },
              h("button", { onclick: () => void copy("token", issued.token), "data-testid": "copy-token" }, s.copied === "token" ? t("issue.copied") : t("issue.copy")),
              h("button", { onclick: () => void copy("sms", smsText(lang(), issued.token)) }, s.copied === "sms" ? t("issue.copied") : t("issue.copySms")),
            ),
            h("span", { class: "muted" }, t("issue.sms")),
            h("p", { class: "sms", "data-testid": "issued-sms" }, smsText(lang(), issued.token)),
            target?.view?.identity.provisioned
              ? h(
                  "button",
                  { class: "primary", disabled: target.busy, onclick: () => void enterOnTarget(), "data-testid": "issue-enter" },
                  t("issue.enterOn", { serial: target.view.identity.serial ?? target.port }),
                )
              : null,
            s.issueEntry
              ? h(
                  "p",
                  { class: "result", "data-testid": "issue-entry-result" },
                  resultText(s.issueEntry.result),
                  " ",
                  h("code", {}, s.issueEntry.result),
                )
              : null,
            errorBox(s.issueEntryError, "issue-entry-error"),
          )
        : null,
    ),
  );
}
