ALTER FUNCTION procrastinate_fetch_job_v2(character varying[], bigint)
    RESET enable_sort
    RESET plan_cache_mode;
