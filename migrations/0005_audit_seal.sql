-- Sealing the audit trail against a database intruder without the key (docs/security.md, "The audit trail").
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0005_audit_seal.sql

-- A stream's periodic checkpoints (`head`, `close`) seal the outcomes of its records: the SHA-256 of the outcomes of
-- records `sealed_from` to `seq`, in seq order, each followed by a space, under the checkpoint's MAC. A read's
-- statement is sent the MAC of every outcome it may reach, so whoever sees statement parameters could rewrite a
-- recorded outcome with a matching MAC; the seal, computed by the writer from what the statement reported and
-- never sent before its checkpoint, does not match the rewritten one. Null in checkpoints made before this.
ALTER TABLE audit_checkpoints ADD COLUMN sealed_from bigint, ADD COLUMN seal bytea;

-- The trail's signed head, apart from the records: the newest checkpoint (its id, its MAC, when), under a MAC of its
-- own, moved with every checkpoint in the same transaction (src/audit/SignedHead.ts). An emptied (TRUNCATE) or
-- shortened trail no longer matches it, and a missing head is reported: `secrets audit verify` says which.
CREATE TABLE audit_head (
  -- One row.
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  checkpoint  bigint NOT NULL,
  last_mac    bytea NOT NULL,
  at          timestamptz NOT NULL,
  key_id      text NOT NULL,
  mac         bytea NOT NULL
);

-- Refusals are recorded once a minute at most per kind (src/audit/refusal.ts): before recording one, the store looks
-- for a refusal of the same kind in the last minute, here, without reading the records of reads and writes.
CREATE INDEX idx_audit_refusals ON audit_log (principal, operation, at)
  WHERE outcome IN ('PermissionDenied', 'RevealDenied');
