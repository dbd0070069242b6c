-- Which MCP revision each backend speaks, as probed (server/discover), so that
-- the gateways sharing this file do not all probe it again. Keyed by a digest
-- of what identifies the server (stdio: command, args, env, cwd; HTTP: URL).
CREATE TABLE IF NOT EXISTS era_verdicts (
  key        TEXT PRIMARY KEY,         -- sha256 hex
  era        TEXT NOT NULL,            -- legacy | modern
  probed_at  INTEGER NOT NULL          -- unix epoch, milliseconds
);
