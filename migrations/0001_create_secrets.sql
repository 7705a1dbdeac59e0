-- The secrets table: the design note's columns, with timestamptz and NOT NULL where a value always exists.
-- Values are encrypted by the application (AES-256-GCM, key outside the database), so no pgcrypto.
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0001_create_secrets.sql

CREATE TABLE secrets (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- "C" collation: byte order, the same everywhere, and the order list_secrets promises.
  key_path          text COLLATE "C" NOT NULL UNIQUE,
  encrypted_value   bytea NOT NULL,
  description       text,
  scope             text NOT NULL CHECK (scope IN ('meta', 'project', 'service')),
  project_name      text,
  service_name      text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  created_by        text NOT NULL DEFAULT 'supervisor',
  last_accessed_at  timestamptz,
  access_count      integer NOT NULL DEFAULT 0,
  expires_at        timestamptz,
  rotation_required boolean NOT NULL DEFAULT false,
  CHECK ((scope = 'project') = (project_name IS NOT NULL)),
  CHECK ((scope = 'service') = (service_name IS NOT NULL))
);

-- key_path lookups use the UNIQUE index. These serve list_secrets' filters in key_path order.
CREATE INDEX idx_secrets_scope ON secrets (scope, key_path);
CREATE INDEX idx_secrets_project ON secrets (project_name, key_path) WHERE project_name IS NOT NULL;
CREATE INDEX idx_secrets_service ON secrets (service_name, key_path) WHERE service_name IS NOT NULL;
CREATE INDEX idx_secrets_expires ON secrets (expires_at) WHERE expires_at IS NOT NULL;

-- Facts about the store itself: the envelope format version and the key-check canary.
CREATE TABLE store_meta (
  name       text PRIMARY KEY,
  value      bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
