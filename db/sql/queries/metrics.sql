-- Queries of the metrics shared across processes (core/metrics.py, tables of 0015).

-- metrics_flush --
-- $1 process, $2..$4 counter names/labels/increments, $5..$7 gauge names/labels/values,
-- $8 seconds after which a silent process's gauges are forgotten.
SELECT mukti_flush_metrics_v1($1, $2, $3, $4, $5, $6, $7, $8);

-- metrics_forget_process --
-- A process that stops cleanly takes its gauges with it.
DELETE FROM metric_gauges WHERE process = $1;

-- metrics_totals --
SELECT name, labels, value FROM metric_totals ORDER BY name, labels;

-- metrics_live_gauges --
-- The sum over live processes ($1: seconds since their last flush).
SELECT name, labels, sum(value) AS value
  FROM metric_gauges
 WHERE updated_at >= now() - make_interval(secs => $1)
 GROUP BY name, labels
 ORDER BY name, labels;
