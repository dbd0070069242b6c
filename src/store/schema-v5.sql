-- v5: each row names its request (the id Sentinel's log lines carry, so the two
-- can be joined) and how many times an idempotent read was retried.
-- The columns are added by migrations.ts (ALTER TABLE cannot say IF NOT EXISTS).
CREATE INDEX IF NOT EXISTS calls_request ON calls (request_id);
