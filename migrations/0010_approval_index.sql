-- The approval flag, looked up by every read: the read statement names the guarded key paths that carry the flag
-- (src/postgres/readStatements.ts, `gate`). The read path plans its statements once per connection (generic plans),
-- and for `key_path = ANY($n) AND approval_required` the generic plan of a store of a thousand secrets was a
-- sequential scan of `secrets` on every read (0.25 ms of a 1 ms read, more as the store grows). This index holds the
-- flagged secrets only (few, usually none), so the lookup is an index probe whatever the store's size.
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0010_approval_index.sql

CREATE INDEX idx_secrets_approval ON secrets (key_path) WHERE approval_required;
