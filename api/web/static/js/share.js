// Share links of a conversation: create one (expiry, view limit, optional password),
// copy it, see the existing ones and revoke them. A native <dialog>: focus stays inside,
// Escape closes it, focus returns to the Share button.

import { api, query } from "./api.js";
import { formatDate, h } from "./dom.js";
import { errorSlot, field, notify, onSubmit, problemText } from "./ui.js";

const EXPIRIES = [["1 hour", 3600], ["1 day", 86400], ["7 days", 604800], ["30 days", 2592000]];

function shareRow(share, onRevoked) {
  const revoke = h("button", { type: "button", class: "link" }, "Revoke");
  revoke.addEventListener("click", async () => {
    try {
      await api("DELETE", `/shares/${share.id}`);
      onRevoked();
    } catch (error) {
      notify(problemText(error), "error");
    }
  });
  return h("li", {},
    h("span", {}, `${share.status} · ${share.views}/${share.max_views} views · until ${formatDate(share.expires_at)}`,
      share.password_protected ? " · password" : ""),
    share.status === "active" ? revoke : null);
}

export function openShareDialog(conversationId, opener) {
  const list = h("ul", { class: "shares" });
  const result = h("div", { class: "share-result", hidden: true });
  const form = h("form", { class: "stack", method: "dialog" },
    h("div", { class: "field" }, h("label", { for: "share-expiry" }, "Expires after"),
      h("select", { id: "share-expiry", name: "expires_in" },
        EXPIRIES.map(([label, seconds]) => h("option", { value: seconds, selected: seconds === 604800 }, label)))),
    field("Views allowed", { name: "max_views", type: "number", min: 1, max: 100000, value: "100", required: true }),
    field("Password (optional, at least 4 characters)", {
      name: "password", type: "password", minlength: 4, maxlength: 256, autocomplete: "new-password",
    }),
    errorSlot(),
    h("button", { type: "submit" }, "Create link"));
  const close = h("button", { type: "button", class: "secondary" }, "Close");
  const dialog = h("dialog", { class: "share-dialog", "aria-labelledby": "share-heading" },
    h("h2", { id: "share-heading" }, "Share this conversation"),
    h("p", { class: "meta" }, "The link shows the conversation as it is now, read-only, to anyone who has it."),
    form, result, h("h3", {}, "Links"), list, h("div", { class: "actions" }, close));

  async function loadShares() {
    const page = await api("GET", query(`/conversations/${conversationId}/shares`, { limit: 20 }));
    list.replaceChildren(...page.items.map((s) => shareRow(s, loadShares)));
    if (!page.items.length) list.append(h("li", { class: "empty" }, "None yet."));
  }

  onSubmit(form, async (data) => {
    const body = { expires_in: Number(data.get("expires_in")), max_views: Number(data.get("max_views")) };
    if (data.get("password")) body.password = data.get("password");
    const created = await api("POST", `/conversations/${conversationId}/shares`, { body });
    const url = h("input", { id: "share-url", type: "text", readonly: true, value: created.url, "aria-label": "Share link" });
    const copy = h("button", { type: "button" }, "Copy");
    copy.addEventListener("click", async () => {
      url.select();
      try {
        await navigator.clipboard.writeText(created.url);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Press Ctrl+C";
      }
    });
    result.replaceChildren(h("p", {}, `Link created${created.password_protected ? " (password protected)" : ""}, `,
      `until ${formatDate(created.expires_at)}, ${created.max_views} views:`), h("div", { class: "copy-row" }, url, copy));
    result.hidden = false;
    form.reset();
    url.focus();
    url.select();
    await loadShares();
  });
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  loadShares().catch((error) => notify(problemText(error), "error"));
}
