"""Loops that run for as long as the component that starts them (the live relays of the
API and the worker, the worker's metrics flusher): started one by one, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    """A component's background loops; `stop()` cancels them and waits until each has ended."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []

    def start(self, name: str, loop: Coroutine[Any, Any, Any]) -> None:
        self._tasks.append(asyncio.create_task(loop, name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
