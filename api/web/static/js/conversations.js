// The list of conversations (the sidebar, and the home page on a phone) and starting one
// with a technique from the library.

import { api, query } from "./api.js";
import { h, plural } from "./dom.js";
import { errorSlot, field, onSubmit } from "./ui.js";

export const titles = new Map(); // conversation id -> title, for search hits and headings

export async function renderSidebar(sidebar, currentId) {
  const list = h("ul", { class: "conversations" });
  const more = h("button", { type: "button", class: "link", hidden: true }, "More conversations");
  let cursor = null;
  async function load() {
    const page = await api("GET", query("/conversations", { limit: 20, cursor }));
    for (const c of page.items) {
      titles.set(c.id, c.title);
      list.append(h("li", {},
        h("a", { href: `#/c/${c.id}`, "aria-current": c.id === currentId ? "page" : null },
          h("span", { class: "title" }, c.title),
          h("span", { class: "meta" }, plural(c.message_count, "message")))));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => load());
  sidebar.replaceChildren(
    h("div", { class: "sidebar-head" }, h("h2", {}, "Conversations"), h("a", { class: "button", href: "#/new" }, "New")),
    list, more);
  await load();
  if (!list.children.length) list.append(h("li", { class: "empty" }, "No conversations yet."));
}

export function homeView(main) {
  main.append(h("section", { class: "card welcome" },
    h("h1", {}, "Think it through"),
    h("p", {}, "Mukti answers with questions: pick a technique, bring a problem, and reason your way to an answer."),
    h("p", {}, h("a", { class: "button", href: "#/new" }, "Start a new dialogue"))));
}

function techniqueOption(t) {
  const id = `t-${t.id}`;
  const badges = [t.is_default && "default", t.is_builtin && "built-in", t.status !== "approved" && t.status]
    .filter(Boolean).map((b) => h("span", { class: "badge" }, b));
  return h("li", { class: "technique" },
    h("input", { type: "radio", name: "technique_id", id, value: t.id, checked: t.is_default }),
    h("label", { for: id },
      h("span", { class: "name" }, t.name, " ", badges),
      h("span", { class: "votes", "aria-label": `${t.upvotes} up, ${t.downvotes} down` }, `▲ ${t.upvotes}  ▼ ${t.downvotes}`),
      t.description ? h("span", { class: "description" }, t.description) : null));
}

export async function newConversationView(main) {
  const list = h("ul", { class: "techniques" });
  const more = h("button", { type: "button", class: "link", hidden: true }, "More techniques");
  const form = h("form", { class: "card stack" },
    h("h1", {}, "New dialogue"),
    field("Title (optional)", { name: "title", type: "text", maxlength: 200 }),
    h("fieldset", {}, h("legend", {}, "Technique (the most upvoted first)"), list, more),
    errorSlot(),
    h("button", { type: "submit" }, "Start"));
  let cursor = null;
  async function load() {
    const page = await api("GET", query("/techniques", { sort: "top", limit: 20, cursor }));
    list.append(...page.items.map(techniqueOption));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => load());
  onSubmit(form, async (data) => {
    const body = {};
    if (data.get("title")) body.title = data.get("title");
    if (data.get("technique_id")) body.technique_id = data.get("technique_id");
    const conversation = await api("POST", "/conversations", { body });
    titles.set(conversation.id, conversation.title);
    location.hash = `#/c/${conversation.id}`;
  });
  main.append(form);
  await load();
  if (!form.querySelector("input[type=radio]:checked")) form.querySelector("input[type=radio]")?.click();
}
