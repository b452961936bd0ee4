"""The LLM client of a worker process: OpenAI's chat-completion API over plain HTTP.

One LlmClient per process keeps one `aiohttp` session and its connection pool, so hundreds
of calls in flight reuse keep-alive connections instead of opening one per call. The
requests are built and the replies read as plain JSON, without the openai client's
per-call machinery (its request options, auth and retry wrappers cost more CPU than the
HTTP call itself). aiohttp rather than httpx (which the openai package is built on): a
streamed call costs the worker about a quarter of the CPU (docs/performance.md). There
are no client retries: retries are the job queue's, with their backoff in the database.

Answers are streamed (`stream`): the text is handed on piece by piece as it arrives,
usage comes in the stream's last chunk (`stream_options.include_usage`), and a provider
that sends none still completes, with the usage estimated and marked so. With streaming
the timeout bounds each wait for the next piece (a stalled stream fails), not the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from core.metrics import SharedMetrics
from core.settings import Settings

# Sent when the server needs no key (the offline stub, a local vLLM or Ollama).
NO_KEY = "mukti-no-key"
# The endpoint without LLM_BASE_URL (an LLM_API_KEY alone): OpenAI's API.
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int


# Answers that no retry can change: the request, the key or the model is wrong. They
# fail the request at once and count as configuration errors.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 422})


@dataclass(frozen=True)
class StreamedReply:
    content: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    first_token_ms: int | None
    usage_estimated: bool
    # Cut short by `stop`: the content is what had arrived.
    stopped: bool


# The longest reply a message can hold (recent_messages_content_length): a longer stream is
# cut there and stored as stopped.
MAX_REPLY_CHARS = 100_000
# The longest event line a stream may send: room for a whole reply in one event (some
# proxies send it so), each of its MAX_REPLY_CHARS escaped as a surrogate pair (12 bytes).
# An endpoint that sends more without a line end is broken; its bytes are not buffered
# until the read timeout.
MAX_EVENT_LINE_BYTES = 4 << 20


def estimate_tokens(text: str) -> int:
    """About four characters a token (English, OpenAI's tokenizers): for streams without usage."""
    return math.ceil(len(text) / 4)


def _outcome_of(exc: BaseException) -> str:
    """The metrics outcome of a call that raised: the LLM's error class, or 'cancelled'
    (the job was stopped, e.g. at shutdown, while it waited)."""
    return exc.outcome if isinstance(exc, LlmError) else "cancelled"


class LlmError(Exception):
    """A failed call, with the delay the server asked for (Retry-After), if any.

    The message is for logs (it can quote the provider); `public` is what users see;
    `outcome` is the call's label in mukti_llm_calls_total.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, outcome: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self._outcome = outcome

    @property
    def permanent(self) -> bool:
        """True when retrying cannot help (a configuration error: model, key, request)."""
        return self.status in PERMANENT_STATUSES

    @property
    def outcome(self) -> str:
        if self.status == 429:
            return "rate_limited"
        if self.permanent:
            return "config_error"
        if self.status is not None:
            return "server_error"
        return self._outcome or "unreachable"

    @property
    def public(self) -> str:
        if self.status == 429:
            return "the language model is rate limiting us"
        if self.status in (401, 403):
            return (
                f"the language model refused our credentials (HTTP {self.status}): "
                "a configuration error, reported to the operators"
            )
        if self.status == 404:
            return "the language model endpoint does not know this plan's model (HTTP 404): a configuration error"
        if self.permanent:
            return (
                f"the language model refused the request (HTTP {self.status}), e.g. an unknown model: "
                "a configuration error, reported to the operators"
            )
        if self.status is not None:
            return f"the language model answered with an error (HTTP {self.status})"
        if "timed out" in str(self):
            return "the language model did not answer in time"
        return "the language model could not be reached or answered unusably"


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _failure(exc: BaseException) -> LlmError:
    """A request that got no answer: a timeout (of the connect or of a wait for data), or no connection."""
    if isinstance(exc, TimeoutError):
        return LlmError("LLM call timed out", outcome="timeout")
    return LlmError(f"LLM unreachable: {type(exc).__name__}: {exc}")


def _status_error(status: int, body: bytes, headers) -> LlmError:
    """An error answer (its body read) with the server's message, as the openai package
    reads it (`error.message` of a JSON body, else the text), and its Retry-After."""
    message = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(message)
    except ValueError:
        message = message[:500]  # e.g. a proxy's HTML page
    else:
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
        text = error.get("message") if isinstance(error, dict) else None
        message = text if isinstance(text, str) and text else message[:500]
    return LlmError(f"LLM answered {status}: {message}", status=status, retry_after=parse_retry_after(headers))


JSON_HEADERS = {"Content-Type": "application/json"}


async def _open(
    session: aiohttp.ClientSession, method: str, url: URL, body: dict | None = None
) -> aiohttp.ClientResponse:
    """The response to a request, its body still to read (the caller releases it); an error
    answer (its body read for the message), a timeout or no connection as LlmError."""
    try:
        if body is None:
            response = await session.request(method, url)
        else:
            response = await session.request(
                method, url, data=json.dumps(body, separators=(",", ":")).encode(), headers=JSON_HEADERS
            )
        if response.status < 400:
            return response
        try:
            content = await response.read()
        finally:
            response.release()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _failure(exc) from exc
    raise _status_error(response.status, content, response.headers)


async def _fetch(session: aiohttp.ClientSession, method: str, url: URL, body: dict | None = None) -> bytes:
    """The body of the answer to a request, read whole (see `_open`)."""
    response = await _open(session, method, url, body)
    try:
        return await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _failure(exc) from exc
    finally:
        response.release()


class LlmClient:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: float,
        max_connections: int,
        metrics: SharedMetrics | None = None,
    ) -> None:
        self._metrics = metrics
        # Paths are relative to the base URL, its path kept: ".../v1" + "chat/completions".
        base = URL((base_url or OPENAI_BASE_URL).rstrip("/") + "/")
        self._chat_url = base.join(URL("chat/completions"))
        self._models_url = base.join(URL("models"))
        self._headers = {"Authorization": f"Bearer {api_key or NO_KEY}"}
        # As the openai client sets up its own: the timeout bounds the connect (with the wait
        # for a free connection) and each wait for data, not the whole reply.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self._max_connections = max_connections
        # A proxy from the environment (HTTP(S)_PROXY, NO_PROXY), looked up once rather than
        # by aiohttp's trust_env on every request.
        self._proxy: tuple[URL | None, aiohttp.BasicAuth | None] = (None, None)
        with contextlib.suppress(LookupError):
            self._proxy = get_env_proxy_for_url(base)
        self._session: aiohttp.ClientSession | None = None
        self._in_flight = 0

    def _client(self) -> aiohttp.ClientSession:
        """The session, made on first use (it belongs to the running event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                headers=self._headers,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                proxy=self._proxy[0],
                proxy_auth=self._proxy[1],
            )
        return self._session

    @classmethod
    def from_settings(
        cls, settings: Settings, base_url: str | None = None, metrics: SharedMetrics | None = None
    ) -> LlmClient:
        # Headroom over the job concurrency: keep-alive connections of calls just ended.
        return cls(
            base_url=base_url or settings.llm_base_url,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_connections=settings.worker_concurrency + 16,
            metrics=metrics,
        )

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def complete(self, model: str, messages: list[dict[str, str]]) -> Completion:
        async with self._call(model) as session:
            completion = await self._complete(session, model, messages)
        self._record_tokens(model, completion.prompt_tokens, completion.completion_tokens)
        return completion

    @contextlib.asynccontextmanager
    async def _call(self, model: str) -> AsyncIterator[aiohttp.ClientSession]:
        """The session of one call; the call is counted in flight and recorded with its
        outcome and duration."""
        session = self._client()
        self._in_flight += 1
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield session
        except BaseException as exc:
            outcome = _outcome_of(exc)
            raise
        finally:
            self._in_flight -= 1
            self._record_call(model, outcome, started)

    def _record_call(self, model: str, outcome: str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.inc("mukti_llm_calls_total", {"model": model, "outcome": outcome})
            self._metrics.observe("mukti_llm_call_duration_seconds", time.perf_counter() - started, {"model": model})

    def _record_tokens(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        if self._metrics is not None:
            self._metrics.inc("mukti_llm_tokens_total", {"model": model, "kind": "prompt"}, prompt_tokens)
            self._metrics.inc("mukti_llm_tokens_total", {"model": model, "kind": "completion"}, completion_tokens)

    async def list_models(self) -> set[str]:
        """The model ids the endpoint offers (`GET /models`)."""
        body = await _fetch(self._client(), "GET", self._models_url)
        return {str(item.get("id")) for item in (json.loads(body).get("data") or []) if isinstance(item, dict)}

    async def stream(
        self, model: str, messages: list[dict[str, str]], on_text: Callable[[str], None], stop: asyncio.Event
    ) -> StreamedReply:
        """Stream a reply, calling `on_text` with each piece (leading whitespace dropped, so the
        pieces join to the stored reply exactly). Setting `stop` ends the call at once: the
        reply so far comes back with `stopped` and estimated usage."""
        async with self._call(model) as session:
            reply = await self._stream(session, model, messages, on_text, stop)
        self._record_tokens(model, reply.prompt_tokens, reply.completion_tokens)
        return reply

    async def _stream(
        self,
        session: aiohttp.ClientSession,
        model: str,
        messages: list[dict[str, str]],
        on_text: Callable[[str], None],
        stop: asyncio.Event,
    ) -> StreamedReply:
        started = time.perf_counter()
        parts: list[str] = []
        received: dict = {"usage": None, "first_token_ms": None, "cut": False, "length": 0, "done": False}

        async def read() -> None:
            body = {"model": model, "messages": messages, "stream": True, "stream_options": {"include_usage": True}}
            response = await _open(session, "POST", self._chat_url, body)
            try:
                await _read_events(response.content, parts, received, on_text, started)
            except TimeoutError as exc:
                raise LlmError("LLM call timed out (the stream stalled)") from exc
            except aiohttp.ClientError as exc:
                raise LlmError(f"LLM stream broke: {type(exc).__name__}: {exc}") from exc
            finally:
                # Back to the pool if the body was read to its end, else the connection is closed.
                response.release()

        reading = asyncio.ensure_future(read())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, stopping):
                task.cancel()
        interrupted = not reading.done() or reading.cancelled()
        if interrupted:
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        else:
            reading.result()  # raises the call's error
        # A stop that came after [DONE], while only the body's end was being read, stopped nothing.
        stopped = received["cut"] or (interrupted and not received["done"])
        content = "".join(parts)
        if not content and not stopped:
            raise LlmError("LLM returned an empty reply")
        usage = received["usage"]
        if usage is None:
            prompt_tokens = sum(estimate_tokens(m.get("content") or "") + 4 for m in messages)
            completion_tokens = estimate_tokens(content)
        else:
            prompt_tokens, completion_tokens = usage
        return StreamedReply(
            content=content,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=round((time.perf_counter() - started) * 1000),
            first_token_ms=received["first_token_ms"],
            usage_estimated=usage is None,
            stopped=stopped,
        )

    async def _complete(self, session: aiohttp.ClientSession, model: str, messages: list[dict[str, str]]) -> Completion:
        started = time.perf_counter()
        body = await _fetch(session, "POST", self._chat_url, {"model": model, "messages": messages})
        try:
            reply = json.loads(body)
        except ValueError as exc:
            raise LlmError(f"LLM answered with invalid JSON: {exc}", outcome="bad_reply") from exc
        latency_ms = round((time.perf_counter() - started) * 1000)
        try:
            choices = reply.get("choices") or []
            content = ((choices[0].get("message") or {}).get("content") or "").strip() if choices else ""
            usage = reply.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except (AttributeError, TypeError, ValueError) as exc:
            raise LlmError(f"LLM answered with an unexpected body: {exc}", outcome="bad_reply") from exc
        if not content:
            raise LlmError("LLM returned an empty reply", outcome="bad_reply")
        return Completion(
            content=content, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_ms
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# How long the end of a stream's body may take to follow its [DONE].
END_AFTER_DONE = 0.5


async def _read_to_end(content: aiohttp.StreamReader) -> None:
    """The rest of a finished stream's body (its last chunk follows [DONE] at once): a
    response released before its end closes its connection instead of keeping it alive. A
    server that holds the stream open longer costs its connection, not the reply."""
    if content.at_eof():
        return
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with asyncio.timeout(END_AFTER_DONE):
            while await content.readany():
                pass


async def _read_events(
    content: aiohttp.StreamReader, parts: list[str], received: dict, on_text: Callable[[str], None], started: float
) -> None:
    """Read an OpenAI chat-completion event stream into `parts` (and `on_text`) and `received`
    (usage, time to first token). A stream that ends before its finish is an error."""
    finished = False
    pending = bytearray()  # a line still to finish (only new chunks are searched: linear time)
    while True:
        chunk = await content.readany()
        end = chunk.rfind(b"\n")
        if chunk and end < 0:
            pending += chunk
            if len(pending) > MAX_EVENT_LINE_BYTES:
                raise LlmError(f"LLM sent an event line longer than {MAX_EVENT_LINE_BYTES} bytes")
            continue
        # Whole lines up to the chunk's last line end, or (at the end of the body) all that is left.
        lines = (bytes(pending) + (chunk[:end] if chunk else b"")).split(b"\n")
        pending = bytearray(chunk[end + 1 :]) if chunk else bytearray()
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                received["done"] = True
                await _read_to_end(content)
                return
            try:
                event = json.loads(data)
                if event.get("error"):
                    raise LlmError(f"LLM stream error: {event['error']}")
                usage = event.get("usage")
                if usage:
                    received["usage"] = (int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
                for choice in event.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content") or ""
                    if not parts:
                        text = text.lstrip()
                    room = MAX_REPLY_CHARS - received["length"]
                    if len(text) >= room:
                        text, received["cut"] = text[:room], True
                    received["length"] += len(text)
                    if text:
                        if received["first_token_ms"] is None:
                            received["first_token_ms"] = round((time.perf_counter() - started) * 1000)
                        parts.append(text)
                        on_text(text)
                    if choice.get("finish_reason"):
                        finished = True
                if received["cut"]:
                    return
            except (AttributeError, TypeError, ValueError) as exc:
                raise LlmError(f"LLM sent an unexpected chunk: {exc}") from exc
        if not chunk:
            break
    if not finished:
        raise LlmError("the LLM's stream ended before the reply was finished")
