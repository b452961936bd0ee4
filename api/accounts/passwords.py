"""Argon2id password hashing (OWASP parameters), off the event loop, a few at a time.

Hashing costs ~20 MiB and tens of milliseconds of CPU on purpose; it runs in a worker
thread so one login does not stall every other request of the process. At most
HASH_CONCURRENCY hashes run at once per process: a flood of registrations or logins
would otherwise run up to anyio's 40 threads of it, taking every core (and ~800 MiB)
from the event loop, which then answers nothing else. Excess callers wait their turn.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

# Verified when the email is unknown, so that a miss costs as much time as a wrong password.
_DUMMY_HASH = HASHER.hash("mukti-timing-equalizer")

# One core stays with the event loop.
HASH_CONCURRENCY = max(1, (os.cpu_count() or 2) - 1)

T = TypeVar("T")
# A semaphore belongs to one event loop (tests run several, one after another).
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


async def _in_thread(work: Callable[[], T]) -> T:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(HASH_CONCURRENCY)
    async with slots:
        return await anyio.to_thread.run_sync(work)


async def hash_password(password: str) -> str:
    return await _in_thread(lambda: HASHER.hash(password))


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the time of a real check."""

    def verify() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await _in_thread(verify)


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
