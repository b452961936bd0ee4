// The REST API: bearer tokens kept in sessionStorage (this tab only, never in a URL),
// one refresh at a time when the access token expires, problems as exceptions.

const KEY = "mukti.session";
const listeners = new Set();

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY));
    } catch {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(KEY, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(KEY);
    for (const listener of listeners) listener();
  },
  onSignedOut(listener) {
    listeners.add(listener);
  },
};

// An RFC 9457 problem (or any non-2xx answer) from the API.
export class Problem extends Error {
  constructor(response, body) {
    const detail = (body && body.detail) || (typeof body === "string" && body) || response.statusText;
    super(detail || `HTTP ${response.status}`);
    this.status = response.status;
    this.code = body && body.code;
    this.field = body && body.field;
    const retry = response.headers.get("Retry-After");
    this.retryAfter = retry === null ? null : Number(retry);
  }
}

function authorization() {
  const current = session.get();
  return current ? { Authorization: `Bearer ${current.access_token}` } : {};
}

let refreshing = null;

// Refresh tokens rotate and a reused one revokes the family: never two refreshes at once.
function refresh() {
  refreshing ??= (async () => {
    const current = session.get();
    if (!current || !current.refresh_token) return false;
    const response = await fetch("/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: current.refresh_token }),
    });
    if (!response.ok) {
      session.clear();
      return false;
    }
    const pair = await response.json();
    session.set({ ...current, access_token: pair.access_token, refresh_token: pair.refresh_token });
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// The raw response (for streams); 401 from an expired access token is retried once after a refresh.
export async function request(method, path, { body, headers = {}, signal } = {}) {
  const send = () =>
    fetch(path, {
      method,
      signal,
      headers: { ...authorization(), ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response = await send();
  if (response.status === 401 && !path.startsWith("/auth/") && session.get()) {
    if (await refresh()) response = await send();
    else session.clear();
  }
  return response;
}

export async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Problem(response, body);
  return body;
}

export async function api(method, path, options) {
  return parse(await request(method, path, options));
}

export function query(path, params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined) search.set(key, value);
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

// Which optional routes this server has (from its OpenAPI document), asked once.
let featuresPromise = null;

export function features() {
  featuresPromise ??= fetch("/schema/openapi.json")
    .then((response) => (response.ok ? response.json() : { paths: {} }))
    .catch(() => ({ paths: {} }))
    .then((doc) => {
      const routes = new Map();
      for (const [path, item] of Object.entries(doc.paths || {})) {
        routes.set(path.replace(/\{[^}]+\}/g, "{}"), new Set(Object.keys(item)));
      }
      const has = (path, method) => (routes.get(path) || new Set()).has(method);
      return {
        events: has("/queue/{}/events", "get"),
        cancel: has("/queue/{}/cancel", "post"),
        regenerate: has("/conversations/{}/regenerate", "post"),
      };
    });
  return featuresPromise;
}
