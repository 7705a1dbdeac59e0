-- Key switches: every change of the store's active key, numbered, each authenticated by the key it switches away
-- from (an HMAC under a key derived from it with HKDF, label `secrets-mcp key switch`, over the number and both key
-- ids). A process follows `store_meta.active_key` only along these, one authenticated switch after another from the
-- key it holds, and never to a lower number: whoever has an old key and write access to this database cannot set the
-- store back to it (store/KeySwitch.ts, docs/security.md "Key rotation").
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0004_key_switches.sql

CREATE TABLE key_switches (
  -- 1 for the store's first switch; the key before it (its first key) is at 0.
  epoch       bigint PRIMARY KEY CHECK (epoch >= 1),
  from_key_id bytea NOT NULL CHECK (octet_length(from_key_id) = 8),
  to_key_id   bytea NOT NULL CHECK (octet_length(to_key_id) = 8),
  at          timestamptz NOT NULL DEFAULT now(),
  -- HMAC-SHA256 under HKDF(from key, "secrets-mcp key switch") of the epoch and both key ids.
  mac         bytea NOT NULL
);
