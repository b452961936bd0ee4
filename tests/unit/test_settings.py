from typing import Any

import pytest

from core.settings import DEV_JWT_SECRET, Settings, libpq_url, sqlalchemy_url


def test_production_refuses_default_secrets():
    with pytest.raises(ValueError, match="MUKTI_JWT_SECRET"):
        Settings(env="production").check()


def test_production_accepts_configured_secrets_and_public_url():
    configured: dict[str, Any] = dict(
        env="production", jwt_secret="x" * 32, webhook_secret="w" * 32, billing_secret="b" * 32
    )
    with pytest.raises(ValueError, match="MUKTI_PUBLIC_URL"):
        Settings(**configured).check()
    Settings(**configured, public_url="https://mukti.example.org").check()


def test_short_jwt_secret_is_refused_everywhere():
    with pytest.raises(ValueError, match="256 bits"):
        Settings(jwt_secret="short").check()
    Settings(jwt_secret=DEV_JWT_SECRET).check()


def test_environment_is_read_in_one_place(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("MUKTI_PORT", "9001")
    settings = Settings.from_env()
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.port == 9001
    monkeypatch.setenv("MUKTI_PORT", "nine")
    with pytest.raises(ValueError, match="MUKTI_PORT must be an integer"):
        Settings.from_env()


def test_every_typed_variable_is_parsed_alike(monkeypatch):
    monkeypatch.setenv("MUKTI_LIVE_POLL_INTERVAL", "0.5")
    monkeypatch.setenv("MUKTI_WEB_CLIENT", "off")
    monkeypatch.setenv("MUKTI_WEBHOOK_ALLOW_PRIVATE", "Yes")
    monkeypatch.setenv("MUKTI_PORT", "")  # empty is unset: the default
    settings = Settings.from_env()
    assert (settings.live_poll_interval, settings.web_client, settings.webhook_allow_private) == (0.5, False, True)
    assert settings.port == 8000
    for name, value, expected in (
        ("MUKTI_LIVE_POLL_INTERVAL", "soon", "a number"),
        ("MUKTI_WEBHOOK_ALLOW_PRIVATE", "maybe", "on or off"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=f"{name} must be {expected}.*, got '{value}'"):
            Settings.from_env()
        monkeypatch.delenv(name)


def test_url_forms():
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert libpq_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ValueError):
        sqlalchemy_url("mysql://u@h/db")


def test_reserved_slots_default_to_a_tenth_of_the_concurrency_and_are_bounded():
    assert Settings(worker_concurrency=50).reserved_slots() == 5
    assert Settings(worker_concurrency=9).reserved_slots() == 0  # too few slots to keep one
    assert Settings(worker_concurrency=4, worker_reserved_slots=1).reserved_slots() == 1
    Settings(worker_concurrency=4, worker_reserved_slots=3).check()
    bad: list[dict[str, Any]] = [
        {"worker_reserved_slots": 4},
        {"worker_reserved_slots": -2},
        {"worker_reserved_priority": -5},
    ]
    for setting in bad:
        with pytest.raises(ValueError, match="MUKTI_WORKER_RESERVED_"):
            Settings(worker_concurrency=4, **setting).check()
    with pytest.raises(ValueError, match="MUKTI_WORKER_CONCURRENCY must be at least 1"):
        Settings(worker_concurrency=0).check()


def test_pool_bounds_are_checked_before_any_pool_opens():
    Settings().check()  # the defaults: 2 to 4
    Settings(db_pool_min=0, db_pool_max=1).check()
    for low, high in ((5, 4), (-1, 4), (0, 0)):
        with pytest.raises(
            ValueError,
            match=f"MUKTI_DB_POOL_MAX must be at least 1.*got MUKTI_DB_POOL_MIN={low}, MUKTI_DB_POOL_MAX={high}",
        ):
            Settings(db_pool_min=low, db_pool_max=high).check()


def test_an_accept_batch_holds_from_one_to_a_hundred_questions():
    Settings(accept_batch_max=1).check()
    Settings(accept_batch_max=100).check()
    for size in (0, 101):
        with pytest.raises(ValueError, match="MUKTI_ACCEPT_BATCH_MAX must be from 1 to 100"):
            Settings(accept_batch_max=size).check()


def test_a_reply_batch_holds_from_one_to_a_hundred_replies():
    Settings(reply_batch_max=1).check()
    Settings(reply_batch_max=100).check()
    for size in (0, 101):
        with pytest.raises(ValueError, match="MUKTI_REPLY_BATCH_MAX must be from 1 to 100"):
            Settings(reply_batch_max=size).check()
    with pytest.raises(ValueError, match="MUKTI_REPLY_SENDERS must be at least 1"):
        Settings(reply_senders=0).check()


def test_a_worker_fetches_from_one_to_a_hundred_jobs_at_once():
    Settings(worker_fetch_batch=1).check()
    Settings(worker_fetch_batch=100).check()
    for size in (0, 101):
        with pytest.raises(ValueError, match="MUKTI_WORKER_FETCH_BATCH must be from 1 to 100"):
            Settings(worker_fetch_batch=size).check()
