-- The audit trail: who read and changed what, and when. Append-only; every record carries a MAC chained to the
-- previous record of its stream (one stream per database connection of a process), and the streams are joined
-- by a chain of checkpoints, so an altered, deleted, inserted or reordered record is found by `secrets audit
-- verify`. The MAC key is derived from the master key (HKDF, fixed label), never stored here.
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0003_audit.sql

CREATE TABLE audit_log (
  stream      text NOT NULL,
  seq         bigint NOT NULL,
  at          timestamptz NOT NULL,
  principal   text NOT NULL,
  client      text NOT NULL,
  operation   text NOT NULL,
  -- The key path, or the prefix a list or export covered; null when there was none.
  key_path    text COLLATE "C",
  -- The version written, or asked for (null: the current one).
  version     integer,
  outcome     text NOT NULL,
  -- The master key whose derived key made the MACs.
  key_id      text NOT NULL,
  -- HMAC over the previous record's attempt MAC and this one's fields but the outcome: known before the write.
  attempt_mac bytea NOT NULL,
  -- HMAC over attempt_mac and the outcome.
  mac         bytea NOT NULL,
  PRIMARY KEY (stream, seq)
);

-- `secrets audit` reads newest first.
CREATE INDEX idx_audit_at ON audit_log (at);

-- The chain that joins the streams: each stream's opening, periodic heads, closing, and what pruning removed.
CREATE TABLE audit_checkpoints (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('open', 'head', 'close', 'prune', 'rekey')),
  stream      text,
  -- The stream's last record this checkpoint vouches for (-1: none yet).
  seq         bigint,
  head        bytea,
  key_id      text NOT NULL,
  mac         bytea NOT NULL
);

-- The principal of a secret's last read, for list_secrets.
ALTER TABLE secrets ADD COLUMN last_accessed_by text;
