-- v7: calls waiting for an approver's answer (approvals rules with an approver).
-- The waiting gateway writes the row and polls it; `sentinel approvals` answers it.
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, ts INTEGER NOT NULL, expires INTEGER NOT NULL, rule TEXT NOT NULL, tool TEXT NOT NULL,
  backend TEXT NOT NULL, identity TEXT NOT NULL, approver TEXT NOT NULL, args TEXT,
  state TEXT NOT NULL DEFAULT 'pending', decided_by TEXT, decided_at INTEGER);
