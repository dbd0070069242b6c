-- v6: each row names the view (virtual server, config views) its request came
-- in through: /mcp/<view> or `sentinel --view <view>`; null for the full view.
-- The column is added by migrations.ts (ALTER TABLE cannot say IF NOT EXISTS).
-- Partial: rows of the full view (most of them) cost the index nothing.
CREATE INDEX IF NOT EXISTS calls_view ON calls (view) WHERE view IS NOT NULL;
