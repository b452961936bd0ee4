"""The web client in a real browser: Debian's headless chromium driven by Playwright,
against real `mukti api`, `mukti worker` and `mukti llm-stub` processes on a fresh
database. Skipped, with the reason, where playwright or chromium is missing.

Screenshots go to tests/artifacts/ (not committed) for a reviewer to look at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness import ClonePool, PgServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = os.environ.get("MUKTI_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
STARTUP_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Stack:
    url: str
    stub_url: str
    database_url: str

    def stub_control(self, **knobs) -> httpx.Response:
        return httpx.post(self.stub_url + "/_control", json=knobs, timeout=10)

    def has_route(self, method: str, template: str) -> bool:
        """Whether the API serves an optional route (live answers, dialogue), from its OpenAPI."""
        paths = httpx.get(self.url + "/schema/openapi.json", timeout=30).json()["paths"]
        normalized = {
            "/".join("{}" if p.startswith("{") else p for p in path.split("/")): item for path, item in paths.items()
        }
        return method in normalized.get(template, {})


def _wait(url: str, procs: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            break
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
    raise RuntimeError(f"{url} did not come up:\n{tails}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (uv sync --group dev)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install -y chromium, or set MUKTI_TEST_CHROMIUM)")
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(pg_server: PgServer, clones: ClonePool, tmp_path_factory, chromium_path) -> Iterator[Stack]:
    """The stub, the API and a worker as processes of their own, on a database cloned for this module."""
    name = clones.take()
    database_url = pg_server.url(name)
    logs_dir = tmp_path_factory.mktemp("web-stack")
    stub_port, api_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LLM_BASE_URL": f"http://127.0.0.1:{stub_port}/v1",
        # The flow asks a few dozen questions in seconds; the anti-spam burst limit is not under test.
        "MUKTI_BURST_LIMIT": "1000",
        "MUKTI_WORKER_POLL_INTERVAL": "0.05",
    }
    commands = {
        "stub": ["llm-stub", "--port", str(stub_port)],
        "api": ["api", "--port", str(api_port)],
        "worker": ["worker"],
    }
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []
    try:
        for label, args in commands.items():
            log = logs_dir / f"{label}.log"
            logs.append(log)
            with open(log, "ab") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
                    )
                )
            if label == "stub":
                _wait(f"http://127.0.0.1:{stub_port}/v1/models", procs, logs)
        _wait(f"http://127.0.0.1:{api_port}/ready", procs, logs)
        yield Stack(
            url=f"http://127.0.0.1:{api_port}", stub_url=f"http://127.0.0.1:{stub_port}", database_url=database_url
        )
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        clones.give_back(name)


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("failed-*.png"):  # from an earlier run
        stale.unlink()
    return ARTIFACTS


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
