// The client's router: the URL fragment names the view (#/c/<id>, #/usage, ...), so the
// back and forward buttons move between views and nothing secret is ever in a URL.

import { session } from "./api.js";
import { signInView, signOut, signUpView } from "./auth.js";
import { homeView, newConversationView, renderSidebar } from "./conversations.js";
import { conversationView } from "./dialogue.js";
import { h } from "./dom.js";
import { searchView } from "./search.js";
import { notify, problemText } from "./ui.js";
import { usageView } from "./usage.js";

const ID = "([0-9a-f-]{36})";
const ROUTES = [
  { pattern: /^\/signin$/, view: signInView, name: "signin", public: true },
  { pattern: /^\/signup$/, view: signUpView, name: "signup", public: true },
  { pattern: /^\/$/, view: homeView, name: "home" },
  { pattern: /^\/new$/, view: newConversationView, name: "new" },
  { pattern: new RegExp(`^/c/${ID}(?:/m/(\\d+))?$`), view: conversationView, name: "conversation" },
  { pattern: /^\/search$/, view: searchView, name: "search" },
  { pattern: /^\/usage$/, view: usageView, name: "usage" },
];

const main = document.getElementById("main");
const sidebar = document.getElementById("sidebar");
const nav = document.getElementById("nav");
let controller = null;
let currentConversation = null;

function refreshSidebar() {
  if (session.get()) renderSidebar(sidebar, currentConversation).catch(() => {});
}

async function route() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  const found = ROUTES.map((r) => ({ r, match: path.match(r.pattern) })).find((x) => x.match);
  if (!found) {
    location.replace("#/");
    return;
  }
  const signedIn = Boolean(session.get());
  if (!found.r.public && !signedIn) {
    location.replace("#/signin");
    return;
  }
  if (found.r.public && signedIn) {
    location.replace("#/");
    return;
  }
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  document.body.dataset.view = found.r.name;
  nav.hidden = !signedIn;
  sidebar.hidden = !signedIn;
  currentConversation = found.r.name === "conversation" ? found.match[1] : null;
  main.replaceChildren();
  if (signedIn) refreshSidebar();
  try {
    await found.r.view(main, found.match.slice(1), new URLSearchParams(search), { signal, refreshSidebar });
  } catch (error) {
    if (signal.aborted) return;
    main.append(h("section", { class: "card" }, h("h1", {}, "This page could not be shown"),
      h("p", { class: "error" }, problemText(error)), h("p", {}, h("a", { href: "#/" }, "Back to the start"))));
  }
  if (!signal.aborted) {
    const target = main.querySelector("[autofocus]") ? null : main.querySelector("h1");
    if (target && !main.contains(document.activeElement)) {
      target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
    }
  }
}

session.onSignedOut(() => {
  notify("You are signed out.");
  location.hash = "#/signin";
});
document.getElementById("signout").addEventListener("click", () => signOut());
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => notify(problemText(event.reason), "error"));
route();
