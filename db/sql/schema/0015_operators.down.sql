DROP FUNCTION IF EXISTS mukti_flush_metrics_v1(text, text[], text[], double precision[], text[], text[],
                                               double precision[], double precision);
DROP TABLE IF EXISTS metric_gauges;
DROP TABLE IF EXISTS metric_totals;
