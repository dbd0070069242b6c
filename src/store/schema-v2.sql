-- Governance: tool pins; kill switches; security events. The columns this
-- version adds to calls (roles, decision, rule) are in migrations.ts, which adds
-- each only when it is missing: ALTER TABLE has no IF NOT EXISTS.
CREATE INDEX IF NOT EXISTS calls_identity ON calls (identity, ts);

-- The definition a tool had when it was first seen (or last approved), and a
-- pending one when its backend presents something else.
CREATE TABLE IF NOT EXISTS pins (
  backend     TEXT NOT NULL,
  tool        TEXT NOT NULL,            -- the backend's own name
  hash        TEXT NOT NULL,            -- sha256 of name, description, input schema, annotations
  definition  TEXT NOT NULL,            -- JSON of what was hashed
  pending_hash       TEXT,
  pending_definition TEXT,
  flagged     TEXT,                     -- why the pending/approved definition looks like an injection
  approved    INTEGER NOT NULL,         -- 0 while the first sight itself awaits approval
  first_seen  INTEGER NOT NULL,
  updated     INTEGER NOT NULL,
  PRIMARY KEY (backend, tool)
);

-- Kill switches set with `sentinel tools disable`, shared by every gateway on this store.
CREATE TABLE IF NOT EXISTS switches (
  name        TEXT PRIMARY KEY,         -- exposed tool name (glob allowed) or backend:<name>
  disabled_at INTEGER NOT NULL,
  reason      TEXT
);

CREATE TABLE IF NOT EXISTS events (
  id      INTEGER PRIMARY KEY,
  ts      INTEGER NOT NULL,
  kind    TEXT NOT NULL,                -- tool_changed | tool_suspicious | tool_approved | switch
  backend TEXT,
  target  TEXT,
  detail  TEXT
);
