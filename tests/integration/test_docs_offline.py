"""The interactive docs render their operations in headless Chromium (Debian's `chromium`)
with the network cut off: every asset comes from Mukti itself."""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest

from tests.integration.api_process import api_process

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"),
]

# Everything but 127.0.0.1 is cut off: names do not resolve, and any other address goes to a
# proxy that is not there.
OFFLINE = [
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


async def rendered_dom(url: str) -> str:
    """The DOM after the page's scripts ran (virtual time: no wall-clock wait)."""
    assert CHROMIUM is not None
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", *OFFLINE,
        "--virtual-time-budget=20000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return out.decode()


async def test_the_network_is_really_cut_off():
    dom = await rendered_dom("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/package.json")
    assert '"version"' not in dom


@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        # Swagger UI: one block per operation, id "operations-<tag>-<operationId>".
        ("/schema", r'id="operations-conversations-askQuestion"'),
        ("/schema/swagger", r'id="operations-conversations-getQueueEntry"'),
        # Redoc: one section per operation.
        ("/schema/redoc", r'data-section-id="tag/conversations/operation/askQuestion"'),
    ],
)
async def test_docs_render_their_operations_offline(database_url, page, rendered):
    async with api_process(database_url) as url:
        dom = await rendered_dom(url + page)
    assert re.search(rendered, dom), dom[:2000]
    assert len(re.findall(r"operation/|opblock-summary-path", dom)) > 20
