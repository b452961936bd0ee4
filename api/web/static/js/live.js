// One reply, from asking to its end, as callbacks on `ui`:
//   accepted({request_id, position, message_seq}), status({status, position}), delta(text),
//   reset(), done(reply), failed(error), cancelled()
// Preferred: the streaming POST (Accept: text/event-stream). When the server answers the
// 202 form instead, the reply is followed on GET /queue/{id}/events, and where that route
// does not exist, by polling GET /queue/{id} (its `partial` text, if any). A stream that
// drops before its end is resumed with Last-Event-ID: no text is missed or repeated.

import { Problem, api, features, parse, request } from "./api.js";
import { readEvents } from "./sse.js";

const TERMINAL = new Set(["done", "failed", "cancelled"]);
const RECONNECTS = 5;
const POLL_MS = 400;

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

function dispatch(event, ui, progress) {
  if (event.id !== null) progress.lastId = event.id;
  let data = {};
  try {
    data = event.data ? JSON.parse(event.data) : {};
  } catch {
    return false;
  }
  switch (event.type) {
    case "accepted":
      progress.requestId = data.request_id;
      ui.accepted(data);
      break;
    case "status":
      ui.status(data);
      break;
    case "delta":
      ui.delta(data.text || "");
      break;
    case "reset":
      ui.reset();
      break;
    case "done":
      ui.done(data.reply);
      break;
    case "failed":
      ui.failed(data.error || "the request failed");
      break;
    case "cancelled":
      ui.cancelled();
      break;
    default:
      return false;
  }
  return TERMINAL.has(event.type);
}

// True when the stream reached its end event.
async function consume(response, ui, progress) {
  for await (const event of readEvents(response)) {
    if (dispatch(event, ui, progress)) return true;
  }
  return false;
}

// POST `path` and follow the reply it starts. `body` undefined sends no body (regenerate).
export async function startReply(path, body, ui, signal) {
  const response = await request("POST", path, { body, headers: { Accept: "text/event-stream" }, signal });
  const type = response.headers.get("Content-Type") || "";
  const progress = { requestId: null, lastId: null };
  if (response.ok && type.startsWith("text/event-stream")) {
    let finished = false;
    try {
      finished = await consume(response, ui, progress);
    } catch (error) {
      if (signal?.aborted || !progress.requestId) throw error;
    }
    if (finished) return;
    if (!progress.requestId) throw new Error("the reply stream ended before it began");
    return follow(progress, ui, signal);
  }
  const accepted = await parse(response); // a problem (429, 422...) throws here
  progress.requestId = accepted.request_id;
  ui.accepted(accepted);
  return follow(progress, ui, signal);
}

// Follow a request already accepted, from progress.lastId on.
export async function follow(progress, ui, signal) {
  if (!(await features()).events) return poll(progress.requestId, ui, signal);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const headers = { Accept: "text/event-stream" };
      if (progress.lastId !== null) headers["Last-Event-ID"] = progress.lastId;
      const response = await request("GET", `/queue/${progress.requestId}/events`, { headers, signal });
      if (!response.ok) throw new Problem(response, await response.json().catch(() => null));
      if (await consume(response, ui, progress)) return;
    } catch (error) {
      if (signal?.aborted || (error instanceof Problem && error.status < 500) || attempt >= RECONNECTS) throw error;
    }
    await sleep(Math.min(4000, 250 * 2 ** attempt), signal);
  }
}

async function poll(requestId, ui, signal) {
  let shown = "";
  let last = null;
  for (;;) {
    const state = await api("GET", `/queue/${requestId}`, { signal });
    if (state.status !== last || state.status === "pending") ui.status(state);
    last = state.status;
    const partial = state.partial || "";
    if (partial && !partial.startsWith(shown)) {
      ui.reset();
      shown = "";
    }
    if (partial.length > shown.length) {
      ui.delta(partial.slice(shown.length));
      shown = partial;
    }
    if (state.status === "completed") return ui.done(state.reply);
    if (state.status === "failed") return ui.failed(state.error || "the request failed");
    if (state.status === "cancelled") return ui.cancelled();
    await sleep(POLL_MS, signal);
  }
}

// Ask the server to stop a request; false when it had already finished (409).
export async function cancel(requestId) {
  try {
    await api("POST", `/queue/${requestId}/cancel`);
    return true;
  } catch (error) {
    if (error instanceof Problem && error.status === 409) return false;
    throw error;
  }
}
