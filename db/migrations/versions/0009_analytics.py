"""analytics: retention and rollup functions, the analytics schema's tables, views and
materialized views, and the database roles (migrator, app, analyst) with their grants.

Revision ID: 0009
Revises: 0008
"""

from db.migrations.sqlfile import lock_timeout, run_sql_file

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FUNCTIONS = ("mukti_drop_expired_partitions_v1", "mukti_rollup_usage_v1", "mukti_refresh_matviews_v1")
VIEWS = ("daily_usage_v1", "monthly_billing_v1", "usage_hourly_v1", "model_costs_v1", "queue_health_v1")
MATVIEWS = ("active_users_v1", "technique_engagement_v1", "popular_resources_v1")


def upgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0009_analytics.up.sql")
    for name in FUNCTIONS:
        run_sql_file(f"functions/{name}.sql")
    for name in VIEWS:
        run_sql_file(f"views/{name}.sql")
    for name in MATVIEWS:
        run_sql_file(f"matviews/{name}.sql")
    # Last: grants cover every object above.
    run_sql_file("schema/0009_roles.up.sql")


def downgrade() -> None:
    lock_timeout()
    run_sql_file("schema/0009_roles.down.sql")
    run_sql_file("schema/0009_analytics.down.sql")
