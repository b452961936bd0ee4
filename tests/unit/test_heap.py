"""Server processes freeze their start-up heap (core/heap.py): full garbage collections
then skip the ~100,000 objects of the modules and the app, whose walk paused a process
for ~100 ms at a time. The freeze is made by the entry points only (tests build apps and
run workers in-process, where a freeze would keep their garbage forever)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ENTRY_POINTS = {
    # uvicorn's factory for `mukti api`: builds the app, as each server process does.
    "api": "import api.app, gc; api.app.asgi(); print(gc.get_freeze_count())",
    # `mukti worker` up to the point where it would start running (the database is not reached).
    "worker": (
        "import cli, gc, jobs.worker\n"
        "async def stop(*_args, **_kwargs): return 0\n"
        "jobs.worker.run_worker = stop\n"
        "cli.cmd_worker(type('Args', (), {'queue': None})()); print(gc.get_freeze_count())"
    ),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_the_entry_points_freeze_the_start_up_heap(entry):
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    out = subprocess.run([sys.executable, "-c", ENTRY_POINTS[entry]], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 20_000
