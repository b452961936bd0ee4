"""analytics v2, online part: validate the event-type check, close the past days of
analytics.daily_usage_v2 in batches, make the archive partitions of existing messages,
and populate every materialized view (recording refreshed_at). Outside a transaction,
one short transaction per step, so no lock is held across the scans.

Revision ID: 0014a
Revises: 0014
"""

from alembic import context, op

from db.migrations.sqlfile import driver_connection, execute_sql, lock_timeout, offline_note

revision = "0014a"
down_revision = "0014"
branch_labels = None
depends_on = None

DAYS_PER_BATCH = 7


def upgrade() -> None:
    with op.get_context().autocommit_block():
        lock_timeout("5s")
        # SHARE UPDATE EXCLUSIVE: writers go on while the rows are checked.
        execute_sql("ALTER TABLE usage_events VALIDATE CONSTRAINT usage_events_type_valid;")
        _close_past_days()
        # Months of messages still in recent_messages that lack an archive partition.
        execute_sql(
            "SELECT mukti_ensure_partitions_v1('archived_messages', 'month', m.month, 1)"
            "  FROM (SELECT DISTINCT date_trunc('month', created_at, 'UTC') AS month FROM recent_messages) m"
            " WHERE to_regclass(format('public.archived_messages_p%s',"
            "                          to_char(m.month AT TIME ZONE 'UTC', 'YYYYMM'))) IS NULL;"
        )
        execute_sql("SELECT mukti_refresh_matviews_v2();")


def _close_past_days() -> None:
    if context.is_offline_mode():
        offline_note(
            "0014a: online this closes the past days in batches of "
            f"{DAYS_PER_BATCH}, one transaction each; offline it is rendered as one call"
        )
        execute_sql("SELECT mukti_close_usage_days_v1(100000);")
        return
    connection = driver_connection()
    while True:
        row = connection.execute("SELECT mukti_close_usage_days_v1(%s)", (DAYS_PER_BATCH,)).fetchone()
        if row is None or row[0] == 0:
            return


def downgrade() -> None:
    with op.get_context().autocommit_block():
        lock_timeout("5s")
        # The durable rows 0014 keeps are dropped with their table by 0014's downgrade.
        execute_sql(
            "UPDATE analytics.rollup_state SET closed_through = NULL WHERE rollup = 'daily_usage';"
            "TRUNCATE analytics.daily_usage_closed, analytics.matview_refreshes;"
        )
