-- One process's metrics flush, atomic and in one round trip:
--   counters: adds each increment to its running total (rows locked in (name, labels)
--     order, the same in every process: concurrent flushes never deadlock);
--   gauges: replaces the process's rows with the values given (its series that are
--     gone are deleted);
--   forgets the gauges of processes that have not flushed for p_forget_after seconds
--     (they died without saying goodbye).
CREATE FUNCTION mukti_flush_metrics_v1(
    p_process text,
    p_counter_names text[], p_counter_labels text[], p_counter_deltas double precision[],
    p_gauge_names text[], p_gauge_labels text[], p_gauge_values double precision[],
    p_forget_after double precision
) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO metric_totals AS t (name, labels, value, updated_at)
    SELECT c.name, c.labels, c.delta, now()
      FROM unnest(p_counter_names, p_counter_labels, p_counter_deltas) AS c(name, labels, delta)
     ORDER BY c.name, c.labels
    ON CONFLICT ON CONSTRAINT metric_totals_pkey
    DO UPDATE SET value = t.value + excluded.value, updated_at = excluded.updated_at;

    DELETE FROM metric_gauges g
     WHERE g.process = p_process
       AND (g.name, g.labels) NOT IN (SELECT * FROM unnest(p_gauge_names, p_gauge_labels));
    INSERT INTO metric_gauges AS g (process, name, labels, value, updated_at)
    SELECT p_process, v.name, v.labels, v.value, now()
      FROM unnest(p_gauge_names, p_gauge_labels, p_gauge_values) AS v(name, labels, value)
     ORDER BY v.name, v.labels
    ON CONFLICT ON CONSTRAINT metric_gauges_pkey
    DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

    DELETE FROM metric_gauges g
     WHERE g.updated_at < now() - make_interval(secs => p_forget_after);
END;
$$;
