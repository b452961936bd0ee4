"""The jobs that SQL functions defer name tasks the worker has, on the queues those tasks use.

SQL defers by name (procrastinate_defer_jobs_v1 with a task name and a queue as strings);
a renamed task or queue in jobs/ would otherwise leave those jobs unrunnable, silently.
"""

from __future__ import annotations

import importlib
import re

from core.database.queries import SQL_DIR
from jobs.app import TASK_MODULES, app

# ROW('<queue>', '<task name>', ... )::procrastinate_job_to_defer_v1
_DEFERRAL = re.compile(r"procrastinate_defer_jobs_v1\s*\(\s*ARRAY\s*\[\s*ROW\s*\(\s*'([^']+)'\s*,\s*'([^']+)'")


def _deferrals() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((SQL_DIR / "functions").glob("*.sql")):
        for queue, task in _DEFERRAL.findall(path.read_text()):
            found.setdefault((queue, task), []).append(path.name)
    return found


def test_sql_defers_only_registered_tasks_on_their_queues():
    for module in TASK_MODULES:
        importlib.import_module(module)
    deferrals = _deferrals()
    # The two flows that defer from SQL: a question to answer, a webhook to deliver.
    assert {task for _, task in deferrals} >= {"answer_question", "deliver_webhook"}
    for (queue, task), files in deferrals.items():
        assert task in app.tasks, f"{files} defer {task!r}, which no module of {TASK_MODULES} registers"
        assert app.tasks[task].queue == queue, (
            f"{files} defer {task!r} on {queue!r}; it runs on {app.tasks[task].queue!r}"
        )


def test_the_pattern_reads_a_deferral():
    sql = "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(\n  'webhooks', 'deliver_webhook', 0, NULL)::x])"
    assert _DEFERRAL.findall(sql) == [("webhooks", "deliver_webhook")]
