// Usage: today against the plan's limits, and the last 30 days as charts.

import { api } from "./api.js";
import { barChart } from "./chart.js";
import { formatDate, h, plural } from "./dom.js";

export async function usageView(main) {
  const [subscription, usage] = await Promise.all([api("GET", "/me/subscription"), api("GET", "/me/usage")]);
  const { limits, usage: used, resets } = subscription;
  const days = usage.items.map((d) => ({ ...d, tokens: d.prompt_tokens + d.completion_tokens }));
  const totalQuestions = days.reduce((sum, d) => sum + d.questions, 0);

  const today = h("section", { class: "card today", "aria-labelledby": "today-heading" },
    h("h2", { id: "today-heading" }, "Used today"),
    h("p", { class: "big", id: "used-today" }, h("strong", {}, String(used.today)), ` of ${limits.per_day} questions`),
    h("meter", { min: 0, max: limits.per_day, value: used.today, "aria-label": "Questions used today" }),
    h("p", {}, `${used.this_hour} of ${limits.per_hour} this hour · ${used.tokens_today} tokens today`),
    h("p", { class: "meta" }, `Plan: ${subscription.plan}. The hour resets ${formatDate(resets.hour)}, the day ${formatDate(resets.day)}.`),
    subscription.blocked_until ? h("p", { class: "error" }, `Blocked until ${formatDate(subscription.blocked_until)}`) : null);

  const questions = h("figure", { class: "card", id: "questions-chart" },
    h("figcaption", {}, h("h2", {}, "Questions per day")),
    barChart({ days, series: [{ key: "questions", label: "questions", cls: "s-questions" }],
      title: "Questions per day, last 30 days", unit: "questions" }));
  const tokens = h("figure", { class: "card", id: "tokens-chart" },
    h("figcaption", {}, h("h2", {}, "Tokens per day"),
      h("span", { class: "legend" }, h("span", { class: "key s-prompt" }), "prompt ", h("span", { class: "key s-completion" }), "reply")),
    barChart({ days, series: [{ key: "prompt_tokens", label: "prompt", cls: "s-prompt" },
      { key: "completion_tokens", label: "reply", cls: "s-completion" }],
    title: "Tokens per day, last 30 days", unit: "tokens" }));
  const table = h("details", { class: "card" }, h("summary", {}, "The numbers"),
    h("table", {},
      h("thead", {}, h("tr", {}, ["Day", "Questions", "Prompt tokens", "Reply tokens", "Cost"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, days.slice().reverse().map((d) =>
        h("tr", {}, h("th", { scope: "row" }, d.day), h("td", {}, d.questions), h("td", {}, d.prompt_tokens),
          h("td", {}, d.completion_tokens), h("td", {}, d.cost))))));
  main.append(h("h1", {}, "Usage"),
    h("p", { class: "meta" }, `${plural(totalQuestions, "question")} in the last ${days.length} days.`),
    h("div", { class: "usage-grid" }, today, questions), tokens, table);
}
