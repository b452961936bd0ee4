// Search over all of one's messages, hits highlighted; a hit opens its conversation there.

import { api, query } from "./api.js";
import { titles } from "./conversations.js";
import { formatDate, h } from "./dom.js";
import { snippetNodes } from "./snippet.js";
import { notify, problemText } from "./ui.js";

function hitItem(hit) {
  return h("li", { class: "hit" },
    h("a", { href: `#/c/${hit.conversation_id}/m/${hit.seq}` },
      h("span", { class: "title" }, titles.get(hit.conversation_id) || "Conversation"),
      h("span", { class: "meta" }, ` · ${hit.role === "user" ? "you" : "Mukti"} · ${formatDate(hit.created_at)}`)),
    h("p", { class: "snippet" }, snippetNodes(hit.snippet)));
}

export async function searchView(main, _match, params) {
  const q = params.get("q") || "";
  const input = h("input", { id: "search-q", name: "q", type: "search", value: q, required: true, maxlength: 1000 });
  const form = h("form", { class: "search-form", role: "search" },
    h("label", { for: "search-q" }, "Search your messages"), input, h("button", { type: "submit" }, "Search"),
    h("p", { class: "meta" }, 'Words, "a phrase", -without, this or that.'));
  const results = h("ol", { class: "hits", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "link", hidden: true }, "More results");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) location.hash = `#/search?${new URLSearchParams({ q: input.value })}`;
  });
  main.append(h("section", { class: "card" }, h("h1", {}, "Search"), form, results, more));
  input.focus();
  if (!q.trim()) return;

  let cursor = null;
  async function load() {
    const page = await api("GET", query("/search", { q, limit: 20, cursor }));
    results.append(...page.items.map(hitItem));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    if (!results.children.length) results.append(h("li", { class: "empty" }, "No messages match."));
  }
  more.addEventListener("click", () => load().catch((error) => notify(problemText(error), "error")));
  await load();
}
