"""The LLM client of a worker process: `openai.AsyncOpenAI` clients for all its calls.

One LlmClient per process keeps its connection pools, so hundreds of calls in flight
reuse keep-alive connections instead of opening one per call. The client's own
retries are off: retries are the job queue's, with their backoff in the database.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import httpx2  # the HTTP library the openai package is built on (its connection limits)
import openai

from core.metrics import SharedMetrics
from core.settings import Settings

# Sent when the server needs no key (the offline stub, a local vLLM or Ollama).
NO_KEY = "mukti-no-key"


@dataclass(frozen=True)
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int


# Answers that no retry can change: the request, the key or the model is wrong. They
# fail the request at once and count as configuration errors.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 422})


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


# Connections per HTTP pool. The pool's bookkeeping on every call walks all its
# connections (and probes each idle one's socket): one pool of 1,000 connections costs
# milliseconds of CPU per call, several pools of 32 cost what one small pool does.
SHARD_CONNECTIONS = 32


@dataclass
class _Shard:
    client: openai.AsyncOpenAI
    in_flight: int = 0


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
        shards = -(-max_connections // SHARD_CONNECTIONS)
        per_shard = -(-max_connections // shards)
        limits = httpx2.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self._shards = [
            _Shard(
                openai.AsyncOpenAI(
                    base_url=base_url,
                    api_key=api_key or NO_KEY,
                    timeout=timeout,
                    max_retries=0,
                    http_client=openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout),
                )
            )
            for _ in range(shards)
        ]

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
        return sum(shard.in_flight for shard in self._shards)

    async def complete(self, model: str, messages: list[dict[str, str]]) -> Completion:
        # The least busy pool: no pool ever holds more than its share of the calls in flight.
        shard = min(self._shards, key=lambda s: s.in_flight)
        shard.in_flight += 1
        started = time.perf_counter()
        outcome = "ok"
        try:
            completion = await self._complete(shard.client, model, messages)
        except LlmError as exc:
            outcome = exc.outcome
            raise
        except BaseException:
            outcome = "cancelled"  # the job was stopped (shutdown) while it waited
            raise
        finally:
            shard.in_flight -= 1
            if self._metrics is not None:
                self._metrics.inc("mukti_llm_calls_total", {"model": model, "outcome": outcome})
                self._metrics.observe(
                    "mukti_llm_call_duration_seconds", time.perf_counter() - started, {"model": model}
                )
        if self._metrics is not None:
            self._metrics.inc("mukti_llm_tokens_total", {"model": model, "kind": "prompt"}, completion.prompt_tokens)
            self._metrics.inc(
                "mukti_llm_tokens_total", {"model": model, "kind": "completion"}, completion.completion_tokens
            )
        return completion

    async def list_models(self) -> set[str]:
        """The model ids the endpoint offers (`GET /models`)."""
        response = await self._shards[0].client.get("/models", cast_to=httpx2.Response)
        return {str(item.get("id")) for item in (response.json().get("data") or []) if isinstance(item, dict)}

    async def _complete(self, client: openai.AsyncOpenAI, model: str, messages: list[dict[str, str]]) -> Completion:
        started = time.perf_counter()
        try:
            # The chat completions route through the client's generic `post`: the same request,
            # errors and timeouts as `chat.completions.create`, without its per-call type
            # transforms of the parameters and of the response (~40% of a call's CPU time, the
            # worker's limit at hundreds of calls per second). The reply is read as plain JSON.
            response = await client.post(
                "/chat/completions", body={"model": model, "messages": messages}, cast_to=httpx2.Response
            )
            reply = response.json()
        except openai.APIStatusError as exc:
            raise LlmError(
                f"LLM answered {exc.status_code}: {exc.message}",
                status=exc.status_code,
                retry_after=parse_retry_after(exc.response.headers),
            ) from exc
        except openai.APITimeoutError as exc:
            raise LlmError("LLM call timed out", outcome="timeout") from exc
        except openai.APIConnectionError as exc:
            raise LlmError(f"LLM unreachable: {exc}") from exc
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
        for shard in self._shards:
            await shard.client.close()
