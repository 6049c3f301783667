// Language and theme: one widget each, used by the sidebar and by Ledger › Settings.

import { h } from "../lib/dom";
import { LANGS, setLang, t, type Lang } from "../lib/i18n";
import { state, update } from "../store";

export function langSelect(testid = "lang"): HTMLElement {
  return h(
    "label",
    {},
    t("lang.label"),
    " ",
    h(
      "select",
      {
        "data-testid": testid,
        onchange: (e: Event) => {
          const l = (e.target as HTMLSelectElement).value as Lang;
          setLang(l);
          localStorage.setItem("lang", l);
          update((s) => (s.lang = l));
        },
      },
      LANGS.map((l) => h("option", { value: l, selected: l === state.lang }, l === "en" ? "English" : "Français")),
    ),
  );
}

export function themeButton(testid = "theme"): HTMLElement {
  return h(
    "button",
    {
      class: "small",
      "data-testid": testid,
      onclick: () =>
        update((s) => {
          s.theme = s.theme === "dark" ? "light" : "dark";
          localStorage.setItem("theme", s.theme);
        }),
    },
    state.theme === "dark" ? t("theme.light") : t("theme.dark"),
  );
}
