// Sign in and sign up.

import { api, session } from "./api.js";
import { h } from "./dom.js";
import { errorSlot, field, onSubmit } from "./ui.js";

function signedIn(answer) {
  session.set({ access_token: answer.access_token, refresh_token: answer.refresh_token, user: answer.user });
  location.hash = "#/";
}

export function signInView(main) {
  const form = h("form", { class: "card narrow stack", novalidate: false },
    h("h1", {}, "Sign in"),
    field("Email", { name: "email", type: "email", required: true, autocomplete: "username" }),
    field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
    errorSlot(),
    h("button", { type: "submit" }, "Sign in"),
    h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")));
  onSubmit(form, async (data) => {
    signedIn(await api("POST", "/auth/login", { body: { email: data.get("email"), password: data.get("password") } }));
  });
  main.append(form);
}

export function signUpView(main) {
  const form = h("form", { class: "card narrow stack" },
    h("h1", {}, "Create an account"),
    field("Email", { name: "email", type: "email", required: true, autocomplete: "username" }),
    field("Name (optional)", { name: "display_name", type: "text", maxlength: 100, autocomplete: "nickname" }),
    field("Password (at least 10 characters)", {
      name: "password", type: "password", required: true, minlength: 10, autocomplete: "new-password",
    }),
    errorSlot(),
    h("button", { type: "submit" }, "Create account"),
    h("p", {}, "Have an account? ", h("a", { href: "#/signin" }, "Sign in")));
  onSubmit(form, async (data) => {
    const body = { email: data.get("email"), password: data.get("password") };
    if (data.get("display_name")) body.display_name = data.get("display_name");
    signedIn(await api("POST", "/auth/register", { body }));
  });
  main.append(form);
}

export async function signOut() {
  const current = session.get();
  if (current) {
    await api("POST", "/auth/logout", { body: { refresh_token: current.refresh_token } }).catch(() => {});
  }
  session.clear();
}
