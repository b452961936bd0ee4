"""analytics v2: every outcome a usage event (triggers), exact cost, analytics.daily_usage_v2
(materialized, per day, plan, model and technique, kept after events expire), matview refresh
times, archive partitions made on demand. DDL only; the scans are in 0014a.

Revision ID: 0014
Revises: 0013
"""

from db.migrations.sqlfile import execute_sql, lock_timeout, run_sql_file

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FUNCTIONS = (
    "mukti_model_cost_v1",
    "mukti_usage_event_fill_v1",
    "mukti_daily_aggregate_cost_v1",
    "mukti_error_class_v1",
    "mukti_log_outcome_v1",
    "mukti_usage_day_rows_v1",
    "mukti_close_usage_days_v1",
    "mukti_refresh_matviews_v2",
    "mukti_ensure_archive_partition_v1",
    "mukti_default_partition_periods_v1",
)
# Views over the cost columns whose type changes: dropped and recreated around it.
COST_VIEWS = ("daily_usage_v1", "monthly_billing_v1", "usage_hourly_v1", "model_costs_v1")


def upgrade() -> None:
    lock_timeout("5s")
    run_sql_file("schema/0014_analytics_v2.up.sql")
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    run_sql_file("schema/0014_analytics_v2_triggers.up.sql")
    for name in COST_VIEWS:
        run_sql_file(f"views/{name}.sql")
    run_sql_file("matviews/daily_usage_v2.sql")
    run_sql_file("schema/0014_analytics_comments.sql")
    run_sql_file("schema/0014_analytics_v2_grants.up.sql")


def downgrade() -> None:
    lock_timeout("5s")
    run_sql_file("schema/0014_analytics_v2.down.sql")
    for name in COST_VIEWS:
        run_sql_file(f"views/{name}.sql")
    execute_sql("GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO mukti_analyst;")
