-- mukti_ensure_partitions_v1(parent, unit, start_at, periods)
-- Creates the range partitions of `parent` for `periods` consecutive days or months
-- (UTC) starting with the one that contains `start_at`; returns how many it created.
-- Idempotent: an existing partition is left alone. Rows that had landed in the
-- default partition for a new range are moved into it (a partition cannot be created
-- over rows of the default partition), in the same transaction.
CREATE FUNCTION mukti_ensure_partitions_v1(
    parent regclass, unit text, start_at timestamptz, periods integer
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    step          interval;
    lower_utc     timestamp;
    lower_b       timestamptz;
    upper_b       timestamptz;
    parent_name   text;
    parent_schema text;
    part_name     text;
    default_part  regclass;
    key_col       text;
    cols          text;
    strays        bigint;
    created       integer := 0;
BEGIN
    IF unit NOT IN ('day', 'month') THEN
        RAISE EXCEPTION 'unit must be day or month, got %', unit USING ERRCODE = '22023';
    END IF;
    IF periods < 1 OR periods > 1000 THEN
        RAISE EXCEPTION 'periods must be between 1 and 1000, got %', periods USING ERRCODE = '22023';
    END IF;
    step := ('1 ' || unit)::interval;

    SELECT c.relname, n.nspname INTO parent_name, parent_schema
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = parent AND c.relkind = 'p';
    IF parent_name IS NULL THEN
        RAISE EXCEPTION '% is not a partitioned table', parent USING ERRCODE = '22023';
    END IF;

    SELECT a.attname INTO key_col
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent;

    SELECT i.inhrelid::regclass INTO default_part
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    -- Columns that can be written back (generated columns are recomputed).
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute
     WHERE attrelid = parent AND attnum > 0 AND NOT attisdropped AND attgenerated = '';

    -- Serialise concurrent callers on the same parent (maintenance jobs, migrations).
    PERFORM pg_advisory_xact_lock(hashtext('mukti_ensure_partitions'), parent::oid::integer);

    lower_utc := date_trunc(unit, start_at AT TIME ZONE 'UTC');
    FOR i IN 0 .. periods - 1 LOOP
        lower_b := (lower_utc + i * step) AT TIME ZONE 'UTC';
        upper_b := (lower_utc + (i + 1) * step) AT TIME ZONE 'UTC';
        part_name := parent_name || '_p' || to_char(lower_utc + i * step,
                                                   CASE unit WHEN 'month' THEN 'YYYYMM' ELSE 'YYYYMMDD' END);
        CONTINUE WHEN to_regclass(format('%I.%I', parent_schema, part_name)) IS NOT NULL;

        strays := 0;
        IF default_part IS NOT NULL THEN
            EXECUTE format('SELECT count(*) FROM %s WHERE %I >= $1 AND %I < $2', default_part, key_col, key_col)
               INTO strays USING lower_b, upper_b;
        END IF;
        IF strays > 0 THEN
            EXECUTE format('CREATE TEMP TABLE mukti_partition_strays ON COMMIT DROP AS '
                           'SELECT %s FROM %s WHERE %I >= $1 AND %I < $2', cols, default_part, key_col, key_col)
               USING lower_b, upper_b;
            EXECUTE format('DELETE FROM %s WHERE %I >= $1 AND %I < $2', default_part, key_col, key_col)
               USING lower_b, upper_b;
        END IF;

        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       parent_schema, part_name, parent, lower_b, upper_b);
        created := created + 1;

        IF strays > 0 THEN
            EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM mukti_partition_strays',
                           parent, cols, cols);
            DROP TABLE mukti_partition_strays;
            RAISE NOTICE 'moved % rows of % from % into %', strays, parent, default_part, part_name;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;
