// Fleet › Overview: units by status, tokens issued and days sold per day or week, and the
// units whose credit ends in the next 7 days (each a link to its unit). The charts are
// inline SVG drawn from lib/fleet's pure geometry.

import * as backend from "../lib/backend";
import { BackendError } from "../lib/backend";
import { barChart, bucketLabel, formatDays, labelledBars, tzOffsetSecs, type Bar, type ChartModel } from "../lib/fleet";
import { h } from "../lib/dom";
import { formatTime } from "../lib/ledger";
import { t } from "../lib/i18n";
import { state, update } from "../store";
import { errorBox } from "./common";
import { refreshLedger, showUnit } from "./units";

const WEEK_CHOICES = [4, 8, 12, 26];
const SVG = "http://www.w3.org/2000/svg";

/** Only the newest request's answer is drawn (day/week toggled quickly). */
let statsRequest = 0;

export async function loadStats(): Promise<void> {
  if (!state.ledger?.unlocked) return;
  const mine = ++statsRequest;
  update((s) => (s.statsBusy = true));
  try {
    const stats = await backend.fleetStats(state.statsWeeks, state.statsWeekly, tzOffsetSecs());
    if (mine !== statsRequest) return;
    update((s) => {
      s.stats = stats;
      s.statsError = undefined;
    });
  } catch (e) {
    update((s) => (s.statsError = BackendError.from(e)));
    // Auto-locked while idle: say so instead of a stale chart.
    if (BackendError.from(e).code === "LEDGER_CLOSED") await refreshLedger();
  } finally {
    update((s) => (s.statsBusy = false));
  }
}

function svg(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/** A bar's label under the axis; the first and last are anchored inside the chart's edges. */
function axisLabel(b: Bar, first: boolean, last: boolean, height: number): SVGElement {
  const [x, anchor] = last ? [b.x + b.width, "end"] : first ? [b.x, "start"] : [b.x + b.width / 2, "middle"];
  return svg("text", { x, y: height - 5, "text-anchor": anchor, class: "label" }, b.label);
}

/** One bar chart: bars with their value on top (when labelled) and a label below. */
function chart(testid: string, title: string, model: ChartModel, format: (v: number) => string, maxLabels: number): HTMLElement {
  const labelled = labelledBars(model.bars.length, maxLabels);
  const last = model.bars.length - 1;
  const figure = svg(
    "svg",
    {
      viewBox: `0 0 ${model.width} ${model.height}`,
      width: "100%",
      role: "img",
      "aria-label": title,
      class: "chart",
    },
    svg("line", { x1: 0, x2: model.width, y1: model.base, y2: model.base, class: "axis" }),
    ...model.bars.map((b, i) =>
      svg(
        "g",
        { "data-testid": i === last ? `${testid}-last` : `${testid}-bar`, "data-value": b.value, "data-label": b.label },
        svg("title", {}, `${b.label}: ${format(b.value)}`),
        svg("rect", { x: b.x, y: b.y, width: b.width, height: Math.max(b.height, b.value > 0 ? 1 : 0), class: "bar" }),
        labelled.has(i) && b.value > 0
          ? svg("text", { x: b.x + b.width / 2, y: b.y - 3, "text-anchor": "middle", class: "value" }, format(b.value))
          : "",
        labelled.has(i) ? axisLabel(b, i === 0, i === last && model.bars.length > 1, model.height) : "",
      ),
    ),
  );
  return h("figure", { class: "card chart-card", "data-testid": testid }, h("figcaption", {}, title), figure);
}

function seriesSummary(values: number[], format: (v: number) => string): string {
  const sum = values.reduce((a, b) => a + b, 0);
  return t("overview.period", { sum: format(sum), last: format(values[values.length - 1] ?? 0) });
}

export function overviewScreen(): HTMLElement {
  if (!state.ledger?.unlocked)
    return h(
      "section",
      { class: "screen", "data-testid": "screen-overview" },
      h("h2", {}, t("overview.title")),
      h("p", { class: "muted", "data-testid": "overview-locked" }, t("overview.locked")),
    );
  const st = state.stats;
  const count = (v: number) => String(v);
  return h(
    "section",
    { class: "screen", "data-testid": "screen-overview" },
    h("h2", {}, t("overview.title")),
    h("p", { class: "muted" }, t("overview.intro")),
    h(
      "div",
      { class: "row controls" },
      h(
        "div",
        { class: "toggle", role: "group" },
        h(
          "button",
          {
            class: state.statsWeekly ? "small" : "small active",
            "aria-pressed": String(!state.statsWeekly),
            "data-testid": "overview-daily",
            onclick: () => {
              state.statsWeekly = false;
              void loadStats();
            },
          },
          t("overview.perDay"),
        ),
        h(
          "button",
          {
            class: state.statsWeekly ? "small active" : "small",
            "aria-pressed": String(state.statsWeekly),
            "data-testid": "overview-weekly",
            onclick: () => {
              state.statsWeekly = true;
              void loadStats();
            },
          },
          t("overview.perWeek"),
        ),
      ),
      h(
        "select",
        {
          "data-testid": "overview-weeks",
          "aria-label": t("overview.weeks", { weeks: state.statsWeeks }),
          onchange: (e: Event) => {
            state.statsWeeks = Number((e.target as HTMLSelectElement).value);
            void loadStats();
          },
        },
        WEEK_CHOICES.map((w) => h("option", { value: w, selected: w === state.statsWeeks }, t("overview.weeks", { weeks: w }))),
      ),
      h("button", { class: "small", disabled: state.statsBusy, "data-testid": "overview-refresh", onclick: () => void loadStats() }, t("overview.refresh")),
    ),
    errorBox(state.statsError, "overview-error"),
    st
      ? h(
          "div",
          { class: "charts" },
          h(
            "div",
            {},
            chart(
              "chart-status",
              `${t("overview.byStatus")} · ${t("overview.total", { total: st.totalUnits })}`,
              barChart(st.byStatus.map((c) => ({ label: c.status, value: c.units }))),
              count,
              8,
            ),
          ),
          h(
            "div",
            {},
            chart(
              "chart-tokens",
              t("overview.tokens"),
              barChart(st.series.map((b) => ({ label: bucketLabel(b.start), value: b.tokens }))),
              count,
              7,
            ),
            h("p", { class: "muted", "data-testid": "chart-tokens-summary" }, seriesSummary(st.series.map((b) => b.tokens), count)),
          ),
          h(
            "div",
            {},
            chart(
              "chart-days",
              t("overview.days"),
              barChart(st.series.map((b) => ({ label: bucketLabel(b.start), value: b.daysSold }))),
              formatDays,
              7,
            ),
            h("p", { class: "muted", "data-testid": "chart-days-summary" }, seriesSummary(st.series.map((b) => b.daysSold), formatDays)),
          ),
          h(
            "div",
            { class: "card", "data-testid": "expiring" },
            h("h3", {}, t("overview.expiring")),
            st.expiring.length === 0
              ? h("p", { class: "muted", "data-testid": "expiring-none" }, t("overview.expiringNone"))
              : h(
                  "ul",
                  { class: "expiring" },
                  st.expiring.map((x) =>
                    h(
                      "li",
                      {},
                      h(
                        "a",
                        {
                          href: "#",
                          class: "mono",
                          "data-testid": `expiring-${x.serial}`,
                          onclick: (e: Event) => {
                            e.preventDefault();
                            update((s) => (s.screen = "units"));
                            void showUnit(x.serial);
                          },
                        },
                        x.serial,
                      ),
                      " ",
                      x.customer ?? "",
                      x.phone ? h("small", { class: "muted" }, ` ${x.phone}`) : null,
                      " · ",
                      formatTime(x.creditUntil),
                    ),
                  ),
                ),
            st.expiringTotal > st.expiring.length
              ? h("p", { class: "muted" }, t("overview.expiringMore", { shown: st.expiring.length, total: st.expiringTotal }))
              : null,
          ),
        )
      : state.statsBusy
        ? h("p", { class: "muted" }, t("busy"))
        : null,
  );
}
