-- Grants of migration 0014 (after its objects exist). Default privileges (0009) cover
-- objects created by the same role; these hold whichever role runs the migration.
REVOKE EXECUTE ON FUNCTION mukti_close_usage_days_v1(integer), mukti_refresh_matviews_v2(),
    mukti_default_partition_periods_v1() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mukti_close_usage_days_v1(integer), mukti_refresh_matviews_v2(),
    mukti_default_partition_periods_v1() TO mukti_app;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO mukti_analyst;
