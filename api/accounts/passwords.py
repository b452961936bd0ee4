"""Argon2id password hashing (OWASP parameters), off the event loop.

Hashing costs ~20 MiB and tens of milliseconds of CPU on purpose; it runs in a worker
thread so one login does not stall every other request of the process.
"""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

# Verified when the email is unknown, so that a miss costs as much time as a wrong password.
_DUMMY_HASH = HASHER.hash("mukti-timing-equalizer")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the time of a real check."""

    def verify() -> bool:
        try:
            return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)
