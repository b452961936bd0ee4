"""Metrics of the whole pipeline, correct with any number of API and worker processes on any
number of hosts: every process keeps its own increments and flushes them to Postgres
(table metric_totals: one running total per series, whoever wrote it; metric_gauges: one
row per process and series, summed over the processes alive). Any API process's
/metrics then renders the totals of all of them: successive scrapes that land on
different processes agree, and a process's restart does not reset a counter.

Why Postgres and not a push gateway or per-process scrapes: it is already there, shared
by every process on every host, and a flush is one statement every few seconds per
process (`MUKTI_METRICS_FLUSH_INTERVAL`, 5 s by default). The price is that a scrape
shows other processes' increments up to one interval late (the scraping process flushes
its own first), and a process killed outright loses at most one interval of increments.

Each series is declared in CATALOG (name, type, help); recording an undeclared one is a
programming error caught at once.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import time
import uuid
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    kind: str  # "counter" | "histogram" | "gauge"
    help: str
    buckets: tuple[float, ...] = ()


LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)

CATALOG: dict[str, Family] = {
    "mukti_http_requests_total": Family("counter", "HTTP requests answered, by method, route template and status"),
    "mukti_http_request_duration_seconds": Family("histogram", "Time to answer HTTP requests", HTTP_BUCKETS),
    "mukti_llm_calls_total": Family(
        "counter",
        "LLM calls by model and outcome (ok, rate_limited, config_error, server_error, timeout, "
        "unreachable, bad_reply)",
    ),
    "mukti_llm_call_duration_seconds": Family("histogram", "Duration of LLM calls, by model", LLM_BUCKETS),
    "mukti_llm_tokens_total": Family(
        "counter", "Tokens of successful LLM calls, by model and kind (prompt, completion)"
    ),
    "mukti_llm_calls_in_flight": Family("gauge", "LLM calls waiting for an answer, all workers"),
    "mukti_jobs_total": Family(
        "counter", "Jobs run by the workers, by task and outcome (succeeded, retry, failed, aborted)"
    ),
    "mukti_job_duration_seconds": Family("histogram", "Duration of jobs, by task", JOB_BUCKETS),
    "mukti_db_pool_connections": Family(
        "gauge", "Database connections of the processes' pools, by role and state (busy, idle, max)"
    ),
    "mukti_process_resident_memory_bytes": Family("gauge", "Resident memory of each live Mukti process"),
    "mukti_process_cpu_seconds": Family("gauge", "CPU time used by each live Mukti process"),
    "mukti_process_open_fds": Family("gauge", "Open file descriptors of each live Mukti process"),
    "mukti_process_start_time_seconds": Family("gauge", "Start time of each live Mukti process (Unix time)"),
    "mukti_processes": Family("gauge", "Live Mukti processes, by role (api, worker)"),
    # Read from the database at each scrape (api/ops/controllers.py), not flushed.
    "mukti_replica_lag_seconds": Family(
        "gauge", "How far the read replica is behind the primary at this process's last check (NaN: down or none)"
    ),
    "mukti_replica_in_use": Family(
        "gauge", "1 while this process sends the lag-tolerant reads to the replica (up, within the max lag), else 0"
    ),
    "mukti_lag_tolerant_reads_total": Family(
        "counter",
        "Lag-tolerant reads (search, older history, past usage, listings, reports), by the server that served them",
    ),
    "mukti_accept_batches_total": Family(
        "counter",
        "Accept batches (two or more questions in one transaction), by outcome (committed; sent_alone: refused, "
        "then sent one by one; failed: the database went away or did not answer in time)",
    ),
    "mukti_accept_batched_questions_total": Family("counter", "Questions sent in accept batches, by outcome"),
    "mukti_reply_batches_total": Family(
        "counter",
        "Reply batches of a worker (two or more stored replies in one transaction), by outcome (as accept batches)",
    ),
    "mukti_reply_batched_total": Family("counter", "Replies stored in reply batches, by outcome"),
    "mukti_queue_depth": Family("gauge", "Requests in the question queue by status (pending, processing)"),
    "mukti_queue_pending": Family("gauge", "Pending requests by priority (higher is served first)"),
    "mukti_queue_oldest_pending_seconds": Family("gauge", "Age of the oldest pending request"),
    "mukti_default_partition_rows": Family("gauge", "Rows that landed in a default partition (should be 0)"),
    "mukti_retention_deleted_rows": Family(
        "gauge", "Rows deleted so far by the lifetime purge, per table (since the table was first purged)"
    ),
    "mukti_retention_last_run_timestamp_seconds": Family("gauge", "When the lifetime purge last ran on each table"),
    "mukti_unpriced_model": Family(
        "gauge", "1 for each model a plan answers with that has no price (its calls cost 0); alert when present"
    ),
}


def render_labels(labels: Mapping[str, str]) -> str:
    """The Prometheus label set, keys sorted, values escaped: also the series' key in Postgres."""

    def escape(value: str) -> str:
        return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return ",".join(f'{key}="{escape(labels[key])}"' for key in sorted(labels))


# The series keys of a label set, rendered once: recording is on every request's path.
@functools.lru_cache(maxsize=4096)
def _counter_key(name: str, labels: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    assert CATALOG[name].kind == "counter", name
    return name, render_labels(dict(labels))


@functools.lru_cache(maxsize=4096)
def _histogram_keys(
    name: str, labels: tuple[tuple[str, str], ...]
) -> tuple[tuple[float, ...], tuple[tuple[str, str], ...], tuple[str, str], tuple[str, str]]:
    family = CATALOG[name]
    assert family.kind == "histogram", name
    base = dict(labels)
    buckets = tuple(
        (f"{name}_bucket", render_labels({**base, "le": _le(bound)})) for bound in (*family.buckets, float("inf"))
    )
    rendered = render_labels(base)
    return family.buckets, buckets, (f"{name}_sum", rendered), (f"{name}_count", rendered)


GaugeSource = Callable[[], Iterable[tuple[str, Mapping[str, str], float]]]


class SharedMetrics:
    """The metrics of one process: increments since its last flush, and its gauge sources."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.process = f"{socket.gethostname()}:{os.getpid()}:{role}:{uuid.uuid4().hex[:8]}"
        self._pending: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._gauge_sources: list[GaugeSource] = [self._process_gauges]
        self._started = time.time()

    # -- recording (cheap: a dict update, no I/O) --

    def inc(self, name: str, labels: Mapping[str, str] | None = None, value: float = 1.0) -> None:
        self._pending[_counter_key(name, tuple(sorted((labels or {}).items())))] += value

    def observe(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        bounds, buckets, sum_key, count_key = _histogram_keys(name, tuple(sorted((labels or {}).items())))
        # Cumulative buckets: the observation counts in its bucket and every larger one; the
        # smaller ones get 0, so that every bucket of a series exists from its first observation.
        first = bisect_left(bounds, value)
        pending = self._pending
        for i, key in enumerate(buckets):
            pending[key] += i >= first
        pending[sum_key] += value
        pending[count_key] += 1

    def add_gauge_source(self, source: GaugeSource) -> None:
        """A callable read at each flush: yields (name, labels, value) of this process's gauges."""
        self._gauge_sources.append(source)

    def _process_gauges(self) -> Iterable[tuple[str, Mapping[str, str], float]]:
        me = {"process": self.process, "role": self.role}
        yield "mukti_processes", {"role": self.role}, 1
        yield "mukti_process_start_time_seconds", me, self._started
        times = os.times()
        yield "mukti_process_cpu_seconds", me, times.user + times.system
        try:
            with open("/proc/self/statm") as statm:
                yield (
                    "mukti_process_resident_memory_bytes",
                    me,
                    int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"),
                )
            yield "mukti_process_open_fds", me, len(os.listdir("/proc/self/fd"))
        except OSError:
            pass  # not Linux: memory and descriptors are not reported

    # -- handing over to the store (db/metrics_store.py) --

    def drain(self) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
        """The increments since the last drain (taken: the next drain starts from zero) and
        the current gauge values, each keyed by (series name, rendered labels)."""
        pending, self._pending = self._pending, defaultdict(float)
        gauges: dict[tuple[str, str], float] = defaultdict(float)
        for source in self._gauge_sources:
            for name, labels, value in source():
                assert CATALOG[name].kind == "gauge", name
                gauges[(name, render_labels(labels))] += value
        return dict(pending), dict(gauges)

    def restore(self, pending: Mapping[tuple[str, str], float]) -> None:
        """Give back increments whose flush failed: they go out with the next one."""
        for key, value in pending.items():
            self._pending[key] += value


def forget_after(interval: float) -> float:
    """Gauges of a process silent this long are no longer counted (it died)."""
    return max(3 * interval, 15.0)


def live_within(interval: float) -> float:
    """A process counts as live when it flushed within this many seconds."""
    return 2 * interval + 1.0


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def pool_gauges(pool, role: str) -> GaugeSource:
    """Gauges of an asyncpg pool: connections busy, idle, and the most it may open."""

    def read() -> Iterable[tuple[str, Mapping[str, str], float]]:
        size, idle = pool.get_size(), pool.get_idle_size()
        yield "mukti_db_pool_connections", {"role": role, "state": "busy"}, size - idle
        yield "mukti_db_pool_connections", {"role": role, "state": "idle"}, idle
        yield "mukti_db_pool_connections", {"role": role, "state": "max"}, pool.get_max_size()

    return read


def render(rows: Iterable[tuple[str, str, float]]) -> str:
    """Prometheus text format (0.0.4) of stored series: families grouped, each with HELP and
    TYPE, histogram buckets in order of their bounds."""
    out: list[str] = []
    family_of_last = None
    for name, labels, value in sorted(rows, key=_series_order):
        family = _family_name(name)
        spec = CATALOG.get(family)
        if spec is None:
            continue  # a series of a newer version of Mukti: shown by that version
        if family != family_of_last:
            out.append(f"# HELP {family} {spec.help}")
            out.append(f"# TYPE {family} {spec.kind}")
            family_of_last = family
        out.append(f"{name}{{{labels}}} {_number(value)}" if labels else f"{name} {_number(value)}")
    return "\n".join(out) + "\n" if out else ""


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_SUFFIX_RANK = {"_bucket": 0, "_sum": 1, "_count": 2}


def _series_order(row: tuple[str, str, float]) -> tuple:
    name, labels, _ = row
    family = _family_name(name)
    pairs = dict(_LABEL.findall(labels))
    le = pairs.pop("le", None)
    bound = float("inf") if le in (None, "+Inf") else float(le)
    return family, sorted(pairs.items()), _SUFFIX_RANK.get(name[len(family) :], 0), bound


def _family_name(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and CATALOG.get(name[: -len(suffix)], Family("", "")).kind == "histogram":
            return name[: -len(suffix)]
    return name


def _number(value: float) -> str:
    # As prometheus_client writes them ("2.0", "+Inf"), so scrapes read the same as before.
    value = float(value)
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    return repr(value)
