"""Retry timing shared by the tasks: 2^(attempt-1) seconds plus jitter, Retry-After honoured."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job

# A misbehaving server's Retry-After must not park a job for days.
MAX_DELAY = 600.0
# Jitter spreads retries that failed together (e.g. an LLM outage) over time.
JITTER = 0.25


def backoff_delay(attempt: int, retry_after: float | None = None, rand: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): ~1 s, ~2 s, ~4 s, ...

    A Retry-After from the server is a lower bound: we never come back earlier than asked.
    """
    base = 2.0 ** max(attempt - 1, 0)
    delay = base * (1 + (rand or random).uniform(0, JITTER))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, MAX_DELAY)


class RetryLater(Exception):
    """Raised by a task to have its job run again at `retry_at`."""

    def __init__(self, retry_at: dt.datetime) -> None:
        super().__init__(f"retry at {retry_at.isoformat()}")
        self.retry_at = retry_at


class ScheduledRetry(BaseRetryStrategy):
    """Retries a job when its task says when (RetryLater), at once when a worker shutdown
    interrupted it, and with backoff when the task itself could not record the outcome
    (e.g. the database was unreachable): giving up then would leave its request pending
    forever. The task's own attempt limit ends a request; `infrastructure_attempts` only
    bounds a job that keeps failing before it can reach the database."""

    def __init__(self, infrastructure_attempts: int = 20) -> None:
        self.infrastructure_attempts = infrastructure_attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_at=exception.retry_at)
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision()
        done = job.attempts + 1
        if done >= self.infrastructure_attempts:
            return None
        return _retry_in(backoff_delay(done))


def _retry_in(seconds: float) -> RetryDecision:
    # RetryDecision's retry_in takes whole units only; this is what it computes from them.
    return RetryDecision(retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))


class BackoffRetry(BaseRetryStrategy):
    """Any error retries after `backoff_delay`, up to `attempts` runs in total."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        done = job.attempts + 1  # Procrastinate's job.attempts counts the earlier runs
        if done >= self.attempts:
            return None
        return _retry_in(backoff_delay(done))
