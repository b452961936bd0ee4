-- Reverses 0005_answering.up.sql.
DROP TABLE IF EXISTS webhook_deliveries;
