"""The processes `mukti up` runs, restarted when they die.

A child that exits while Mukti is running (the worker giving up during a long database
outage, a crash, an OOM kill) is started again after a backoff: 1 s, doubling up to
MAX_BACKOFF, back to 1 s once it has run for STABLE_AFTER seconds. The rest keeps
running meanwhile; only Ctrl-C/SIGTERM stops everything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # seconds of running after which a child's backoff starts over


class Child:
    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path | None = None) -> None:
        self.name, self.argv, self.env = name, list(argv), env
        self.log = log  # where its output goes (appended); None: this terminal
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.backoff = FIRST_BACKOFF
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> None:
        if self.log is None:
            self.proc = subprocess.Popen(self.argv, env=self.env)
        else:
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()
        self.restart_at = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def supervise(self, now: float) -> None:
        """Called periodically: notices an exit, schedules and performs the restart."""
        if self.proc is None or self.proc.poll() is None:
            return
        if self.restart_at is None:
            ran = now - self.started_at
            if ran >= STABLE_AFTER:
                self.backoff = FIRST_BACKOFF
            self.restart_at = now + self.backoff
            print(
                f"mukti {self.name} exited with code {self.proc.returncode} after {ran:.0f} s; "
                f"restarting it in {self.backoff:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            self.backoff = min(self.backoff * 2, MAX_BACKOFF)
        elif now >= self.restart_at:
            self.restarts += 1
            self.start()

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)


def stop_all(children: Sequence[Child], timeout: float) -> None:
    """SIGTERM, then wait up to `timeout` seconds in all, then SIGKILL what is left."""
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
