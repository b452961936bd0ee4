-- Queries of the metrics shared across processes (core/metrics.py, tables of 0015).

-- metrics_flush --
-- The process's counter increments and gauge values as parallel arrays, and the seconds
-- after which a silent process's gauges are forgotten.
SELECT mukti_flush_metrics_v1(:process, :counter_names, :counter_labels, :counter_deltas,
                              :gauge_names, :gauge_labels, :gauge_values, :forget_after);

-- metrics_forget_process --
-- A process that stops cleanly takes its gauges with it.
DELETE FROM metric_gauges WHERE process = :process;

-- metrics_totals --
SELECT name, labels, value FROM metric_totals ORDER BY name, labels;

-- metrics_live_gauges --
-- The sum over live processes (:live_within: seconds since their last flush).
SELECT name, labels, sum(value) AS value
  FROM metric_gauges
 WHERE updated_at >= now() - make_interval(secs => :live_within)
 GROUP BY name, labels
 ORDER BY name, labels;
