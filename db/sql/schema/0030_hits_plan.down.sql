ALTER FUNCTION mukti_question_hits_v1(text, timestamp with time zone, interval)
    RESET plan_cache_mode
    RESET enable_seqscan;
