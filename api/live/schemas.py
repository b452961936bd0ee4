"""Bodies of the live-answers routes."""

from __future__ import annotations

import msgspec


class CancelResult(msgspec.Struct):
    request_id: str
    # 'cancelled' (it was pending, or stopped before any text), 'completed' (stopped: the
    # reply as far as it got), or 'processing' when it has not stopped within the wait.
    status: str
