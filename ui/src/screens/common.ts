import type { BackendError } from "../lib/backend";
import { h } from "../lib/dom";
import { errorHint, lang, t, type Key } from "../lib/i18n";
import type { Errors } from "../lib/validate";

/** An error as a person should see it: what happened, the code to quote to support, and
 * what to do in the user's language when we know the code. */
export function errorBox(e: BackendError | undefined, testid = "error"): HTMLElement | null {
  if (!e) return null;
  const hint = errorHint(lang(), e.code);
  return h(
    "div",
    { class: "error", role: "alert", "data-testid": testid },
    h("strong", {}, t("error.title", { code: e.code })),
    " ",
    e.message || t("error.UNEXPECTED"),
    hint ? h("p", { class: "hint", "data-testid": `${testid}-advice` }, hint) : null,
  );
}

export function field(
  id: string,
  label: Key,
  input: HTMLElement,
  errors: Errors,
): HTMLElement {
  const err = errors[id];
  return h(
    "label",
    { class: err ? "field invalid" : "field", for: id },
    h("span", {}, t(label)),
    input,
    err ? h("small", { class: "field-error", "data-testid": `invalid-${id}` }, t(err)) : null,
  );
}

export function textInput(
  id: string,
  value: string,
  onInput: (v: string) => void,
  extra: Record<string, unknown> = {},
): HTMLInputElement {
  return h("input", {
    id,
    name: id,
    value,
    autocomplete: "off",
    spellcheck: "false",
    "data-testid": id,
    oninput: (e: Event) => onInput((e.target as HTMLInputElement).value),
    ...extra,
  });
}

export function checkbox(id: string, label: Key, checked: boolean, onChange: (v: boolean) => void): HTMLElement {
  return h(
    "label",
    { class: "check", for: id },
    h("input", {
      id,
      type: "checkbox",
      checked,
      "data-testid": id,
      onchange: (e: Event) => onChange((e.target as HTMLInputElement).checked),
    }),
    t(label),
  );
}
