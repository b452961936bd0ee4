"""Schemathesis (`st run`) against the served document of a real API process, authenticated
as a user, a bounded number of examples per operation: no 5xx, and every answer conforms
to the document (status documented, content type, headers, body schema).

Not checked: that every schema-valid request is accepted (opaque cursors, URLs that must
be public, text that must not be blank are valid strings the API rightly refuses), and
OPTIONS (Litestar's automatic handler, not an operation of the document)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from tests.factories import create_user
from tests.integration.api_process import api_process

ST = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(ST is None, reason="needs schemathesis (the dev dependency group)")]

CHECKS = ",".join((
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
))  # fmt: skip
EXAMPLES_PER_OPERATION = 10


async def test_schemathesis_finds_no_server_error_and_no_nonconforming_answer(database_url, db, settings):
    user = await create_user(db, settings)
    async with api_process(database_url, MUKTI_BURST_LIMIT="100000") as url:
        assert ST is not None
        proc = await asyncio.create_subprocess_exec(
            ST, "run", f"{url}/schema/openapi.json",
            "--header", f"Authorization: Bearer {user.token}",
            "--checks", CHECKS,
            "--max-examples", str(EXAMPLES_PER_OPERATION),
            "--phases", "examples,coverage,fuzzing",
            "--seed", "20",
            # Deleting the account would turn the rest of the run into 401s.
            "--exclude-operation-id", "deleteMe",
            "--request-timeout", "10",
            "--generation-database", "none",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(proc.communicate(), 480)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "Tested: " in text
