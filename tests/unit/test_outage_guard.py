"""The worker's outage guard: retries only connection failures, gives up when told to."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobs.outage import DatabaseGone, OutageGuard, retry_delay


class Flaky:
    """Fails with `error` `failures` times, then answers."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


async def test_connection_failures_are_retried_until_the_database_answers():
    guard = OutageGuard(give_up_after=60)
    flaky = Flaky(ConnectionRefusedError(111, "refused"), failures=3)
    assert await guard.call(flaky) == "ok"
    assert (flaky.calls, guard.down_since, guard.gave_up) == (4, None, False)


async def test_a_query_error_is_not_retried():
    guard = OutageGuard(give_up_after=60)
    flaky = Flaky(ValueError("a bug"), failures=1)
    with pytest.raises(ValueError):
        await guard.call(flaky)
    assert flaky.calls == 1


async def test_gives_up_after_the_configured_time_and_says_so(caplog):
    gave_up = asyncio.Event()
    guard = OutageGuard(give_up_after=0.3, on_give_up=gave_up.set)
    flaky = Flaky(ConnectionRefusedError(111, "refused"), failures=10**6)
    with pytest.raises(DatabaseGone):
        await guard.call(flaky)
    assert gave_up.is_set() and guard.gave_up
    assert "giving up" in caplog.text and "MUKTI_WORKER_GIVE_UP_AFTER" in caplog.text


async def test_the_last_wait_ends_at_the_deadline(monkeypatch):
    # Waits of 0.8 s against a 1 s deadline: tries at 0 and 0.8 s, then one at 1 s, where
    # the guard gives up (a full wait would have made the last try, and the give-up, 1.6 s).
    monkeypatch.setattr("jobs.outage.retry_delay", lambda attempt: 0.8)
    guard = OutageGuard(give_up_after=1.0)
    flaky = Flaky(ConnectionRefusedError(111, "refused"), failures=10**6)
    started = time.monotonic()
    with pytest.raises(DatabaseGone):
        await guard.call(flaky)
    assert time.monotonic() - started < 1.4
    assert flaky.calls == 3


async def test_stopping_ends_a_retry_wait_at_once():
    guard = OutageGuard(give_up_after=60)
    flaky = Flaky(ConnectionRefusedError(111, "refused"), failures=10**6)
    call = asyncio.create_task(guard.call(flaky))
    while flaky.calls < 3:
        await asyncio.sleep(0.01)
    guard.stop_retrying()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(call, 1)


def test_retry_delays_grow_and_are_capped():
    delays = [retry_delay(attempt) for attempt in range(12)]
    assert 0.05 <= delays[0] <= 0.1
    assert all(d <= 5.0 for d in delays) and delays[-1] >= 2.5
