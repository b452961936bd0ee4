"""docs/operations.md and the alert rules match what /metrics serves, and promtool accepts both."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core.metrics import CATALOG

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (apt-get install prometheus)")


def test_every_metric_is_documented_and_every_documented_metric_exists():
    text = (DOCS / "operations.md").read_text()
    documented = set(re.findall(r"`(mukti_[a-z_]+)`", text))
    assert documented == set(CATALOG)


def test_the_alert_rules_use_only_metrics_that_exist():
    rules = (DOCS / "prometheus-alerts.yml").read_text()
    used = {re.sub(r"_(bucket|sum|count)$", "", name) for name in re.findall(r"\b(mukti_[a-z_]+)", rules)}
    assert used <= set(CATALOG), used - set(CATALOG)


@needs_promtool
def test_promtool_accepts_the_alert_rules():
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "rules", str(DOCS / "prometheus-alerts.yml")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
async def test_promtool_accepts_a_scrape(client):
    await client.get("/health")
    await client.get("/nowhere")
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape.text, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
