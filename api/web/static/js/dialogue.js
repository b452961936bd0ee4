// A conversation: its history (paged backwards as you scroll up), asking with the reply
// streamed in, stopping it, regenerating the last reply, renaming, sharing.

import { Problem, api, features, query } from "./api.js";
import { titles } from "./conversations.js";
import { h } from "./dom.js";
import { cancel, startReply } from "./live.js";
import { openShareDialog } from "./share.js";
import { notify, problemText } from "./ui.js";

const PAGE = 30;
const WHO = { user: "You", assistant: "Mukti", system: "System" };

function messageItem(m) {
  return h("li", { class: `msg ${m.role}`, dataset: { seq: m.seq } },
    h("span", { class: "who" }, WHO[m.role] || m.role),
    h("div", { class: "text" }, m.content));
}

export async function conversationView(main, [id, jumpTo], _params, { signal, refreshSidebar }) {
  const [conversation, available] = await Promise.all([api("GET", `/conversations/${id}`), features()]);
  titles.set(id, conversation.title);

  const heading = h("h1", { id: "conversation-title", tabindex: "-1" }, conversation.title);
  const technique = h("p", { class: "meta" });
  const renameButton = h("button", { type: "button", class: "secondary" }, "Rename");
  const shareButton = h("button", { type: "button", class: "secondary" }, "Share");
  const head = h("header", { class: "dialogue-head" },
    h("div", { class: "title-row" }, heading, h("div", { class: "tools" }, renameButton, shareButton)), technique);

  const older = h("button", { type: "button", class: "link older", hidden: true }, "Load earlier messages");
  const messages = h("ol", { class: "messages", "aria-label": "Messages" });
  const history = h("div", { class: "history" }, older, messages);
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const textarea = h("textarea", {
    id: "question", name: "content", rows: 3, maxlength: 8000, required: true,
    placeholder: "Ask, or answer Mukti's question… (Enter sends, Shift+Enter for a new line)",
  });
  const send = h("button", { type: "submit" }, "Send");
  const stop = h("button", { type: "button", class: "danger", hidden: true }, "Stop");
  const regenerate = h("button", { type: "button", class: "secondary", hidden: true }, "Regenerate");
  const composer = h("form", { class: "composer" },
    h("label", { for: "question", class: "visually-hidden" }, "Your message"), textarea,
    h("div", { class: "actions" }, regenerate, stop, send));
  const jumpBack = jumpTo ? h("p", { class: "meta" }, h("a", { href: `#/c/${id}` }, "Jump to the latest messages")) : null;
  main.append(h("section", { class: "dialogue" }, head, jumpBack, history, status, composer));

  if (conversation.technique_id) {
    api("GET", `/techniques/${conversation.technique_id}`)
      .then((t) =>
        technique.replaceChildren(
          `Technique: ${t.name}`,
          t.description ? h("span", { class: "description" }, ` — ${t.description}`) : "",
        ),
      )
      .catch(() => {});
  }

  // History, newest page first; older pages are prepended keeping the view where it was.
  let before = jumpTo ? Number(jumpTo) + Math.floor(PAGE / 2) : null;
  let cursor = null;
  let loading = false;
  async function loadOlder(first) {
    if (loading) return;
    loading = true;
    try {
      const page = await api("GET", query(`/conversations/${id}/messages`,
        { limit: PAGE, ...(first ? { before } : { cursor }) }), { signal });
      const height = history.scrollHeight;
      // A message asked while this page loaded may be in it already.
      const fresh = page.items.filter((m) => !messages.querySelector(`[data-seq="${m.seq}"]`));
      messages.prepend(...fresh.map(messageItem));
      cursor = page.next_cursor;
      older.hidden = !cursor;
      if (!first) history.scrollTop += history.scrollHeight - height;
    } finally {
      loading = false;
    }
  }
  const atBottom = () => history.scrollHeight - history.scrollTop - history.clientHeight < 80;
  const lastMessage = () => messages.lastElementChild;
  let current = null; // the reply in flight: {requestId, controller}

  function showRegenerate() {
    regenerate.hidden = !(available.regenerate && !current && !jumpTo && lastMessage()?.classList.contains("assistant"));
  }
  showRegenerate();

  function setBusy(busy) {
    send.disabled = busy;
    stop.hidden = !busy || !available.cancel;
    stop.disabled = false;
    showRegenerate();
  }

  // Streams one reply into a new message item.
  async function run(path, body, { onAccepted } = {}) {
    const controller = new AbortController();
    signal.addEventListener("abort", () => controller.abort());
    current = { requestId: null, controller };
    setBusy(true);
    const text = document.createTextNode("");
    const bubble = h("li", { class: "msg assistant streaming", "aria-busy": "true" },
      h("span", { class: "who" }, WHO.assistant), h("div", { class: "text" }, text));
    const follow = (fn) => (...args) => {
      const stick = atBottom();
      fn(...args);
      if (stick) history.scrollTop = history.scrollHeight;
    };
    const finish = (note) => {
      bubble.classList.remove("streaming");
      bubble.removeAttribute("aria-busy");
      if (note) bubble.append(h("p", { class: "note" }, note));
      status.textContent = "";
    };
    const ui = {
      accepted: follow((accepted) => {
        current.requestId = accepted.request_id;
        onAccepted?.(accepted);
        messages.append(bubble);
        status.textContent = accepted.position ? `Waiting in the queue (position ${accepted.position})` : "";
      }),
      status: ({ status: s, position }) => {
        status.textContent = s === "pending" ? `Waiting in the queue (position ${position ?? "?"})`
          : s === "processing" ? "Mukti is thinking…" : "";
      },
      delta: follow((piece) => {
        if (status.textContent) status.textContent = "";
        text.appendData(piece);
      }),
      reset: () => {
        text.data = "";
      },
      done: follow((reply) => {
        text.data = reply.content ?? text.data;
        bubble.dataset.seq = reply.seq;
        finish(reply.stopped ? "Stopped: the reply was kept as far as it got." : null);
      }),
      failed: (error) => {
        bubble.classList.add("failed");
        finish(`No reply: ${error}`);
      },
      cancelled: () => {
        bubble.classList.add("cancelled");
        finish("Cancelled before Mukti started answering.");
      },
    };
    try {
      await startReply(path, body, ui, controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) {
        if (bubble.isConnected) ui.failed(problemText(error));
        else throw error;
      }
    } finally {
      current = null;
      if (!signal.aborted) {
        setBusy(false);
        refreshSidebar();
      }
    }
  }

  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = textarea.value;
    if (!content.trim() || current) return;
    status.textContent = "Sending…";
    try {
      await run(`/conversations/${id}/messages`, { content }, {
        onAccepted: (accepted) => {
          textarea.value = "";
          messages.append(messageItem({ seq: accepted.message_seq, role: "user", content }));
        },
      });
    } catch (error) {
      status.textContent = "";
      notify(problemText(error), "error");
      if (error instanceof Problem && error.field === "content") textarea.focus();
    }
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    } else if (event.key === "Escape" && current) stop.click();
  });
  stop.addEventListener("click", async () => {
    if (!current?.requestId) return;
    stop.disabled = true;
    status.textContent = "Stopping…";
    try {
      await cancel(current.requestId);
    } catch (error) {
      notify(problemText(error), "error");
      stop.disabled = false;
    }
  });
  regenerate.addEventListener("click", async () => {
    const previous = lastMessage();
    try {
      await run(`/conversations/${id}/regenerate`, undefined, {
        onAccepted: () => previous?.remove(),
      });
    } catch (error) {
      notify(problemText(error), "error");
    }
  });

  // Renaming in place: Enter saves, Escape cancels.
  renameButton.addEventListener("click", () => {
    const input = h("input", { type: "text", value: heading.textContent, maxlength: 200, "aria-label": "New title" });
    const form = h("form", { class: "rename" }, input, h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", class: "secondary" }, "Cancel"));
    const restore = () => {
      form.replaceWith(heading);
      renameButton.hidden = false;
      heading.focus();
    };
    form.querySelector("button[type=button]").addEventListener("click", restore);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") restore();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const updated = await api("PATCH", `/conversations/${id}`, { body: { title: input.value } });
        heading.textContent = updated.title;
        titles.set(id, updated.title);
        restore();
        refreshSidebar();
      } catch (error) {
        notify(problemText(error), "error");
        input.focus();
      }
    });
    heading.replaceWith(form);
    renameButton.hidden = true;
    input.focus();
    input.select();
  });
  shareButton.addEventListener("click", () => openShareDialog(id, shareButton));
  textarea.focus();

  // The history last: the controls above work while it loads.
  older.addEventListener("click", () => loadOlder(false).catch((e) => notify(problemText(e), "error")));
  await loadOlder(true);
  if (jumpTo) {
    const target = messages.querySelector(`[data-seq="${Number(jumpTo)}"]`);
    if (target) {
      target.classList.add("found");
      target.scrollIntoView({ block: "center" });
    }
  } else history.scrollTop = history.scrollHeight;
  // Scrolling up to the top loads the page before (the button stays for the keyboard).
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && cursor) loadOlder(false).catch(() => {});
  }, { root: history });
  observer.observe(older);
  signal.addEventListener("abort", () => observer.disconnect());
  showRegenerate();
}
