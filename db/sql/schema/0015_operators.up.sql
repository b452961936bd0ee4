-- Metrics shared by every API and worker process (core/metrics.py): each process adds its
-- counter increments here every few seconds and at each scrape, so any API process's
-- /metrics answers the totals of all of them, on any number of hosts.

-- Counters and histogram series (buckets, sums, counts): cumulative since the metric was
-- first written, whichever process wrote it. `labels` is the Prometheus label set as
-- rendered (`model="m",outcome="ok"`, keys sorted), so a scrape prints rows as they are.
CREATE TABLE metric_totals (
    name       text NOT NULL,
    labels     text NOT NULL,
    value      double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metric_totals_pkey PRIMARY KEY (name, labels)
);

-- Gauges (calls in flight, pool connections, process memory): one row per process and
-- series, replaced at each of its flushes; a scrape sums the rows of live processes
-- (flushed recently) and the flush deletes those of processes long gone.
CREATE TABLE metric_gauges (
    process    text NOT NULL,
    name       text NOT NULL,
    labels     text NOT NULL,
    value      double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metric_gauges_pkey PRIMARY KEY (process, name, labels)
);
CREATE INDEX metric_gauges_updated_at_idx ON metric_gauges (updated_at);
