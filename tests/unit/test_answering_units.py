"""Pure logic of answering: backoff, Retry-After parsing, prompt building, the stub's replies."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import random
import time

import pytest

from core.crypto import sign as signature
from core.llm.client import parse_retry_after
from core.llm.stub import count_tokens, socratic_reply
from jobs.answering import DEFAULT_SYSTEM_PROMPT, build_messages
from jobs.backoff import JITTER, MAX_DELAY, backoff_delay


@pytest.mark.parametrize("attempt, base", [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0)])
def test_backoff_doubles_per_attempt_with_bounded_jitter(attempt, base):
    rand = random.Random(7)
    delays = [backoff_delay(attempt, rand=rand) for _ in range(200)]
    assert all(base <= d < base * (1 + JITTER) for d in delays)
    assert len(set(delays)) > 100  # jittered, not constant


def test_retry_after_is_a_lower_bound_and_delays_are_capped():
    assert backoff_delay(1, retry_after=7.5) == 7.5
    assert 2.0 <= backoff_delay(2, retry_after=0.5) < 2.5
    assert backoff_delay(40) == MAX_DELAY
    assert backoff_delay(1, retry_after=10**6) == MAX_DELAY


def test_parse_retry_after_forms():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= (parse_retry_after({"retry-after": in_ten}) or 0) <= 10


def test_prompt_uses_the_technique_style_and_learner_preferences():
    messages = build_messages(
        {
            "system_prompt": "Ask like Socrates.",
            "questioning_style": "elenctic",
            "display_name": "Meno",
            "preferences": {"level": "beginner", "nested": {"x": 1}, "long": "y" * 500},
            "messages": [{"role": "user", "content": "What is virtue?"}],
        }
    )
    system = messages[0]["content"]
    assert messages[0]["role"] == "system" and system.startswith("Ask like Socrates.")
    assert "Questioning style: elenctic" in system
    assert "name: Meno" in system and "level: beginner" in system
    assert "nested" not in system and "yyyy" not in system
    assert messages[1:] == [{"role": "user", "content": "What is virtue?"}]


def test_prompt_falls_back_to_the_builtin_socratic_prompt():
    messages = build_messages(
        {"system_prompt": None, "questioning_style": None, "display_name": None, "preferences": {}, "messages": []}
    )
    assert messages == [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}]


def test_stub_replies_are_deterministic_socratic_questions():
    question = "I believe courage is knowing what is to be feared."
    reply = socratic_reply(question)
    assert reply == socratic_reply(question) and reply.endswith("?")
    assert "courage" in reply or "believe" in reply or "knowing" in reply or "feared" in reply
    assert socratic_reply("?!").endswith("?")
    assert count_tokens("Hello, world!") == 4


def test_webhook_signature_is_hex_hmac_sha256_of_the_body():
    body = b'{"event": "request.failed"}'
    assert signature("s3cret", body) == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
