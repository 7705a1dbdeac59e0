-- Versions, check-and-set and soft delete. Every secret that exists now becomes version 1 of itself, with its
-- read counts; its value stays where it is (an unversioned envelope, accepted as version 1 only).
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0002_versions.sql

ALTER TABLE secrets
  ADD COLUMN version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  -- The current value's size in bytes of UTF-8 (AES-GCM adds none: the envelope's length minus 37).
  ADD COLUMN value_bytes integer,
  -- Who wrote the current version (created_by stays who created the secret).
  ADD COLUMN updated_by  text,
  -- Set while the secret is deleted but recoverable; purged after SECRETS_DELETE_RETENTION.
  ADD COLUMN deleted_at  timestamptz,
  ADD COLUMN deleted_by  text;

UPDATE secrets SET value_bytes = octet_length(encrypted_value) - 37, updated_by = created_by;

ALTER TABLE secrets
  ALTER COLUMN value_bytes SET NOT NULL,
  ALTER COLUMN updated_by SET NOT NULL,
  ADD CHECK ((deleted_at IS NULL) = (deleted_by IS NULL));

-- The versions before the current one (which stays in `secrets`, so the read path reads one row). The newest
-- SECRETS_MAX_VERSIONS, the current one included, are kept.
CREATE TABLE secret_versions (
  secret_id       bigint NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  version         integer NOT NULL CHECK (version >= 1),
  encrypted_value bytea NOT NULL,
  value_bytes     integer NOT NULL,
  created_at      timestamptz NOT NULL,
  created_by      text NOT NULL,
  PRIMARY KEY (secret_id, version)
);

-- Purging deleted secrets, and the rotation queue's flag.
CREATE INDEX idx_secrets_deleted ON secrets (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX idx_secrets_rotation ON secrets (key_path) WHERE rotation_required;
