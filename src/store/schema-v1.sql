-- One row per client request, whatever its outcome.
CREATE TABLE IF NOT EXISTS calls (
  id          INTEGER PRIMARY KEY,
  ts          INTEGER NOT NULL,  -- unix epoch, milliseconds
  session     TEXT,
  front       TEXT NOT NULL,     -- stdio | http
  identity    TEXT NOT NULL,
  method      TEXT NOT NULL,
  backend     TEXT,
  target      TEXT,              -- tool, prompt or resource as the client named it
  args        TEXT,              -- JSON, secrets redacted
  outcome     TEXT NOT NULL,     -- ok | error | denied
  error_code  INTEGER,
  error       TEXT,
  latency_us  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls (ts);
CREATE INDEX IF NOT EXISTS calls_target ON calls (target, ts);
