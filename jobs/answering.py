"""Answering a question: the task the question flow enqueues (seed 000, worker pool to usage).

One run of `answer_question` is one LLM attempt:
  1. one statement takes the request ('processing', attempts + 1) and loads its context:
     the worker's fetch that took the job (mukti_fetch_job_v4, jobs/starts.py), or the
     task's own first statement for a job the fetch did not start;
  2. the LLM call, streamed (the plan's model, the configured timeout, no client-side
     retries); its text is relayed to live viewers as it comes (jobs/relay.py), and a
     cancel by the user stops it;
  3. success (or stopped by a cancel, with text): one SQL function stores reply, archive,
     usage and limits, and finishes this job, in one transaction (shared with the other
     replies the process stores at that moment: jobs/replies.py);
     failure: one SQL function records it and either reschedules (the job is retried by
     Procrastinate at the time it returns: 2^(attempt-1) s plus jitter, or the LLM's
     Retry-After) or fails the request for good (notification, webhook). An LLM answer
     no retry can change (400, 401, 403, 404, 422: a configuration error) fails it at once.
Jobs carry the conversation as their lock, so a conversation's questions are answered
one at a time, in order, even across retries (a waiting retry keeps its place).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import asyncpg
from procrastinate import JobContext

from core.database.gateway import Db
from core.llm.client import LlmError
from jobs.app import app
from jobs.backoff import RetryLater, ScheduledRetry, backoff_delay
from jobs.replies import Reply
from jobs.resources import owner_db, resources_of

log = logging.getLogger("mukti.answering")

DEFAULT_SYSTEM_PROMPT = (
    "You are a Socratic tutor. Never lecture and never give the answer outright: reply with one or two "
    "short, open questions that help the learner examine their own reasoning, expose hidden assumptions "
    "and reach their own conclusions. Build on what they said last."
)
# Preferences are user-written: only short scalar values reach the prompt.
MAX_PREFERENCE_CHARS = 200


def build_messages(context: dict[str, Any]) -> list[dict[str, str]]:
    """The chat messages for the LLM: system prompt (technique, style, learner), then the dialogue."""
    parts = [context.get("system_prompt") or DEFAULT_SYSTEM_PROMPT]
    if context.get("questioning_style"):
        parts.append(f"Questioning style: {context['questioning_style']}")
    learner = []
    if context.get("display_name"):
        learner.append(f"name: {context['display_name']}")
    for key, value in sorted((context.get("preferences") or {}).items()):
        if isinstance(value, (str, int, float, bool)) and len(str(value)) <= MAX_PREFERENCE_CHARS:
            learner.append(f"{key}: {value}")
    if learner:
        parts.append("About the learner (respect their preferences): " + "; ".join(learner))
    return [{"role": "system", "content": "\n\n".join(parts)}, *context["messages"]]


def _context_of(row) -> dict[str, Any]:
    return {**dict(row), "preferences": json.loads(row["preferences"]), "messages": json.loads(row["messages"])}


def _outcome(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row of one of the SQL functions that end an attempt: they always return one."""
    if row is None:
        raise RuntimeError("no outcome row from the SQL function that ends the attempt")
    return row


@app.task(name="answer_question", queue="questions", pass_context=True, retry=ScheduledRetry())
async def answer_question(context: JobContext, request_id: str, user_id: str | None = None) -> str:
    res = resources_of(context)
    # Jobs deferred by mukti_submit_question_v4 and v5 name the request's owner: no look-up. (A
    # wrong owner would only hide the request from this job, which then does nothing.)
    owner = user_id or await res.db.fetchval("job_request_owner", request_id=request_id)
    db = owner_db(res, owner)
    if db is None:
        return "already finished"
    # Started by the fetch that took this job (jobs/starts.py), or by this statement.
    row = res.started.take(context.job.id) or await db.fetchrow(
        "answering_start_attempt", request_id=request_id, user_id=owner
    )
    if row is None:
        return "already finished"
    if row["attempts"] > row["max_attempts"]:
        # Earlier runs were cut off without recording a failure (worker crashes, shutdowns):
        # a request that keeps killing its worker must not come back forever.
        failed = _outcome(
            await db.fetchrow(
                "answering_fail_attempt",
                request_id=request_id,
                error="the request was interrupted too many times",
                retry_in_seconds=0,
            )
        )
        log.warning("request %s gave up after %d interrupted attempts", request_id, row["attempts"] - 1)
        return failed["outcome"]
    if row["cancel_requested"]:
        # Cancelled while an earlier attempt ran, whose worker died before it could stop.
        await db.execute("answering_cancel_processing", request_id=request_id)
        return "cancelled"
    try:
        async with res.relay.open(request_id, row["attempts"], row["user_id"]) as stream:
            reply = await res.llm.stream(row["model"], build_messages(_context_of(row)), stream.append, stream.stop)
        if stream.error is not None:
            raise stream.error
        if reply.stopped and not reply.content:
            await db.execute("answering_cancel_processing", request_id=request_id)
            return "cancelled"
        # Stored with the other replies this process finishes meanwhile (jobs/replies.py).
        done = await res.replies.submit(
            Reply(
                request_id=request_id,
                user_id=str(row["user_id"]),
                job_id=context.job.id,
                content=reply.content,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                latency_ms=reply.latency_ms,
                first_token_ms=reply.first_token_ms,
                usage_estimated=reply.usage_estimated,
                stopped=reply.stopped,
            )
        )
        if context.job.id is not None:  # (a fetched job always has its id)
            res.finished_jobs.add(context.job.id)  # the call above finished the job too
        return done["outcome"]
    except asyncio.CancelledError:
        # Worker shutdown past its grace period: the job is retried at once elsewhere.
        await asyncio.shield(db.execute("answering_release_request", request_id=request_id))
        raise
    except Exception as exc:  # any failure of this attempt, the LLM's or ours, is retried
        # Users see (GET /queue, notifications, webhooks) a short reason; the details,
        # which can quote the provider or our internals, go to the log only.
        public = exc.public if isinstance(exc, LlmError) else "an internal error occurred"
        retry_after = exc.retry_after if isinstance(exc, LlmError) else None
        failed = await _record_failure(
            db,
            request_id,
            public,
            backoff_delay(row["attempts"], retry_after),
            final=isinstance(exc, LlmError) and exc.permanent,
        )
        log.warning(
            "request %s attempt %d/%d failed (%s): %s: %s",
            request_id,
            row["attempts"],
            row["max_attempts"],
            failed["outcome"],
            type(exc).__name__,
            exc,
        )
        if failed["outcome"] != "noop":
            await db.execute("answering_notify_state", request_id=request_id)
        if failed["outcome"] == "retry":
            raise RetryLater(failed["next_attempt_at"]) from exc
        return failed["outcome"]


async def _record_failure(db: Db, request_id: str, public: str, retry_in: float, *, final: bool) -> asyncpg.Record:
    """Record a failed attempt; `final` (the LLM refused in a way no retry changes: wrong
    model, key or request) makes it the last one, so the request fails now with that reason."""
    if not final:
        return _outcome(
            await db.fetchrow("answering_fail_attempt", request_id=request_id, error=public, retry_in_seconds=retry_in)
        )
    async with db.transaction() as tx:
        await tx.execute("answering_no_more_attempts", request_id=request_id)
        row = await tx.fetchrow(
            "answering_fail_attempt", request_id=request_id, error=public, retry_in_seconds=retry_in
        )
    return _outcome(row)
