"""The Python heap of a long-running process (API worker, job worker).

A process holds ~110,000 objects once started (modules, the app, its routes and
schemas), and every full garbage collection walks them all: ~100 ms on the project's
2-core box, during which the process answers nothing. At a few hundred requests a
second a full collection comes every few seconds, and those pauses were the accept
path's p99 (bench/ask.py: 124 ms at half the saturated rate). Frozen after start-up,
those objects are left out of every later collection (CPython's gc.freeze, made for
this); what the process allocates afterwards is collected as usual.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once (start-up garbage is not kept forever), then freeze what is left."""
    gc.collect()
    gc.freeze()
