"""Alembic environment: plain SQL migrations over a psycopg (v3) connection.

The URL comes from `-x url=...`, else `sqlalchemy.url` in the config (tests set it),
else DATABASE_URL. Offline (`alembic upgrade head --sql`) the migrations' SQL is printed
and no database is needed.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from core.settings import Settings, sqlalchemy_url

config = context.config

# The alembic CLI shows what it runs (alembic.ini's loggers); callers that configure
# logging themselves (`mukti migrate`, the tests) say so with this attribute.
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        settings = Settings.from_env()
        # Offline, the URL only names the dialect: no database is reached.
        url = (
            settings.database_url or "postgresql://offline"
            if context.is_offline_mode()
            else settings.require_database_url()
        )
    return sqlalchemy_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # One transaction per migration: a failing one leaves the previous ones applied
        # and itself not at all (Postgres DDL is transactional).
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
