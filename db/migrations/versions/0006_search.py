"""search: per-user full-text indexes and the seq -> month map for history paging.

The GIN builds and the backfill of the map read whole message tables: they run outside
the migration's transaction, the indexes CONCURRENTLY (per partition, then attached to
the parent's index) and the backfill one archive partition per transaction.

Revision ID: 0006
Revises: 0005
"""

from alembic import context, op

from db.migrations.sqlfile import driver_connection, execute_sql, lock_timeout, offline_note, run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SEARCH_EXPR = "gin (mukti_scoped_tsvector_v1(search, user_id))"
PARENT_INDEX = "archived_messages_scoped_search_idx"

# One partition's existing rows into the map (the trigger covers rows added since).
BACKFILL_MONTHS = """
INSERT INTO archived_message_months AS m (conversation_id, month_start, user_id, min_seq, max_seq)
SELECT conversation_id, date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       user_id, min(seq), max(seq)
  FROM {partition}
 GROUP BY 1, 2, 3  -- user_id follows from conversation_id
ON CONFLICT (conversation_id, month_start) DO UPDATE
   SET min_seq = least(m.min_seq, excluded.min_seq), max_seq = greatest(m.max_seq, excluded.max_seq);
"""


def upgrade() -> None:
    lock_timeout()
    run_sql_file("functions/mukti_scoped_tsvector_v1.sql")
    run_sql_file("functions/mukti_track_archived_months_v1.sql")
    run_sql_file("schema/0006_search.up.sql")
    with op.get_context().autocommit_block():
        lock_timeout()
        execute_sql(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS recent_messages_scoped_search_idx "
            f"ON recent_messages USING {SEARCH_EXPR};"
        )
        if context.is_offline_mode():
            _offline_partitions()
            return
        for partition in _archive_partitions():
            index = f"{partition}_mukti_scoped_tsvector_v1_idx"  # the name Postgres gives later partitions
            execute_sql(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {partition} USING {SEARCH_EXPR};")
            execute_sql(f"ALTER INDEX {PARENT_INDEX} ATTACH PARTITION {index};")
            execute_sql(BACKFILL_MONTHS.format(partition=partition))


def _archive_partitions() -> list[str]:
    connection = driver_connection()
    rows = connection.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'archived_messages'::regclass ORDER BY c.relname"
    ).fetchall()
    return [row[0] for row in rows]


def _offline_partitions() -> None:
    offline_note(
        "0006: online, each archive partition's index is built CONCURRENTLY and attached, and its rows "
        "backfilled, one by one; offline (no catalog to list them) one block does it in a transaction"
    )
    execute_sql(f"""DO $$
DECLARE
    part text;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'archived_messages'::regclass ORDER BY c.relname LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING {SEARCH_EXPR}', part || '_mukti_scoped_tsvector_v1_idx', part);
        EXECUTE format('ALTER INDEX {PARENT_INDEX} ATTACH PARTITION %I', part || '_mukti_scoped_tsvector_v1_idx');
        EXECUTE replace($sql${BACKFILL_MONTHS}$sql$, '{{partition}}', quote_ident(part));
    END LOOP;
END;
$$;""")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0006_search.down.sql")
    execute_sql(
        "DROP FUNCTION IF EXISTS mukti_track_archived_months_v1();"
        "DROP FUNCTION IF EXISTS mukti_scoped_tsvector_v1(tsvector, uuid);"
    )
