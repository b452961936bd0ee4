-- mukti_ensure_archive_partition_v1() (AFTER INSERT OR UPDATE OF created_at ON
-- recent_messages): the archive partition a message will be moved into (its UTC month)
-- exists from the moment the message does, behind as well as ahead, so the move into
-- archived_messages never lands in its default partition. It cannot be made at move
-- time: a partition cannot be created while the statement that inserts into its parent
-- runs. Normally the month exists (made ahead by the maintenance job) and this is one
-- catalog lookup.
CREATE FUNCTION mukti_ensure_archive_partition_v1()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF to_regclass(format('public.archived_messages_p%s', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYYMM')))
       IS NULL THEN
        PERFORM mukti_ensure_partitions_v1('public.archived_messages'::regclass, 'month', NEW.created_at, 1);
        -- The new partition gets its parent's Row-Level Security at once (migration 0013).
        PERFORM mukti_protect_user_tables_v1();
    END IF;
    RETURN NULL;
END;
$$;
