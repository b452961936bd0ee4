-- Live answers: the text of a reply while it is generated, cancellation, stopped replies.

-- A request can be cancelled by its user (mukti_cancel_request_v1). The constraint is
-- swapped without a long lock: NOT VALID is instant, VALIDATE only takes a SHARE UPDATE
-- EXCLUSIVE lock while it scans (reads and writes go on).
ALTER TABLE request_queue DROP CONSTRAINT request_queue_status_valid;
ALTER TABLE request_queue ADD CONSTRAINT request_queue_status_valid
    CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')) NOT VALID;
ALTER TABLE request_queue VALIDATE CONSTRAINT request_queue_status_valid;

-- New columns with constant defaults: catalog-only changes (no table rewrite).
ALTER TABLE request_queue
    -- Set by a cancel while processing; the worker stops the generation when it sees it.
    ADD COLUMN cancel_requested_at timestamptz,
    -- The reply was cut short by a cancel: stored as far as it got.
    ADD COLUMN stopped boolean NOT NULL DEFAULT false,
    -- The provider's stream carried no usage: the token counts are our estimate.
    ADD COLUMN usage_estimated boolean NOT NULL DEFAULT false,
    -- Time from the LLM call to its first piece of text, of the attempt that answered.
    ADD COLUMN first_token_ms integer;

-- The text of a reply while it is generated, in the pieces the worker relayed, per
-- attempt (jobs/relay.py writes them; api/live/relay.py reads them to catch up). A
-- reader concatenates the pieces of an attempt by start_offset (characters). The rows
-- live only while their request is processing: completion and cancellation delete
-- them, and maintenance purges those of requests finished or gone (no foreign key: a
-- batch insert of many streams must not fail because one conversation was deleted).
CREATE TABLE request_stream_chunks (
    request_id           uuid NOT NULL,
    attempt              integer NOT NULL,
    start_offset         integer NOT NULL,
    user_id              uuid NOT NULL,
    content              text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT request_stream_chunks_pkey PRIMARY KEY (request_id, attempt, start_offset),
    CONSTRAINT request_stream_chunks_offset_valid CHECK (attempt >= 1 AND start_offset >= 0)
);
CREATE INDEX request_stream_chunks_created_idx ON request_stream_chunks (created_at);
