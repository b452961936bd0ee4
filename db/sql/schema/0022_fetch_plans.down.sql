ALTER FUNCTION procrastinate_fetch_job_v2(character varying[], bigint) RESET ALL;
