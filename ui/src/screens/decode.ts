// Station › Check token: what a device in a given state would do with a token.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import { h } from "../lib/dom";
import { t } from "../lib/i18n";
import { checkDecode } from "../lib/validate";
import { state, update } from "../store";
import { resultText } from "./devices";
import { checkbox, errorBox, field, textInput } from "./common";

async function submit(): Promise<void> {
  const checked = checkDecode(state.decode);
  if (!checked.ok) {
    update((s) => {
      s.decodeErrors = checked.errors;
      s.decoded = undefined;
    });
    return;
  }
  update((s) => {
    s.decodeErrors = {};
    s.decodeError = undefined;
  });
  try {
    const r = await backend.decodeToken(checked.value);
    update((s) => (s.decoded = r));
  } catch (e) {
    update((s) => {
      s.decodeError = BackendError.from(e);
      s.decoded = undefined;
    });
  }
}

export function decodeScreen(): HTMLElement {
  const s = state;
  const f = s.decode;
  const r = s.decoded;
  const accepted = r && r.result !== "INVALID" && r.result !== "ALREADY_USED";
  return h(
    "section",
    { class: "screen two-col", "data-testid": "screen-decode" },
    h(
      "div",
      {},
      h("h2", {}, t("decode.title")),
      h("p", { class: "muted" }, t("decode.intro")),
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
        field("token", "form.token", textInput("token", f.token, (v) => (f.token = v), { class: "mono big-input", inputmode: "numeric", placeholder: "123 456 789" }), s.decodeErrors),
        field("key", "form.key", textInput("decode-key", f.key, (v) => (f.key = v), { class: "mono" }), s.decodeErrors),
        h(
          "div",
          { class: "row" },
          field("startingCode", "form.startingCode", textInput("decode-startingCode", f.startingCode, (v) => (f.startingCode = v)), s.decodeErrors),
          field("count", "form.count", textInput("decode-count", f.count, (v) => (f.count = v)), s.decodeErrors),
          field("divider", "form.divider", textInput("decode-divider", f.divider, (v) => (f.divider = v)), s.decodeErrors),
        ),
        field("used", "form.used", textInput("decode-used", f.used, (v) => (f.used = v), { placeholder: "3,5,6" }), s.decodeErrors),
        h("div", { class: "row checks" }, checkbox("decode-restricted", "form.restricted", f.restricted, (v) => (f.restricted = v))),
        h("button", { type: "submit", class: "primary big", "data-testid": "decode-submit" }, t("decode.submit")),
      ),
      errorBox(s.decodeError, "decode-error"),
    ),
    h(
      "div",
      { class: "token-panel" },
      r
        ? h(
            "div",
            { class: `card decoded ${accepted ? "good" : "bad"}`, "data-testid": "decoded" },
            h("p", { class: "token-result" }, resultText(r.result), " ", h("code", {}, r.result)),
            r.days !== null ? h("p", {}, t("decode.days", { days: r.days })) : null,
            h(
              "p",
              { class: "muted" },
              t("decode.after", { count: r.countAfter, used: r.usedAfter.join(", ") || "—" }),
            ),
          )
        : null,
    ),
  );
}
