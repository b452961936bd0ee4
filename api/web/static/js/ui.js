// Shared pieces of the views: notices, forms, the page heading, problems shown by field.

import { Problem } from "./api.js";
import { h } from "./dom.js";

let noticeTimer = null;

export function notify(text, kind = "info") {
  const notice = document.getElementById("notice");
  notice.replaceChildren(text ? h("p", { class: `notice-${kind}` }, text) : "");
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => notice.replaceChildren(), 8000);
}

export function problemText(error) {
  if (error instanceof Problem) {
    if (error.retryAfter !== null && (error.status === 429 || error.status === 503)) {
      return `${error.message} (try again in ${error.retryAfter} s)`;
    }
    return error.message;
  }
  return error && error.name === "AbortError" ? "" : `Something went wrong: ${error && error.message}`;
}

// Show a problem inside a form: next to the field it names when there is one.
export function showFormError(form, error) {
  const slot = form.querySelector(".form-error");
  slot.textContent = problemText(error);
  if (error instanceof Problem && error.field) {
    const input = form.querySelector(`[name="${CSS.escape(error.field)}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }
}

export function field(label, attrs) {
  const id = attrs.id || `f-${attrs.name}`;
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attrs }));
}

export function errorSlot() {
  return h("p", { class: "form-error", role: "alert" });
}

// A submit handler that disables the form while it runs and reports problems in it.
export function onSubmit(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    form.querySelector(".form-error").textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    button.disabled = true;
    try {
      await handler(new FormData(form));
    } catch (error) {
      showFormError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
