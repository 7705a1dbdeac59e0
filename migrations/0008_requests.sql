-- Requests for a secret that a human answers out of band (request_secret, secrets provide, the /provide page).
-- A row never holds a value: it records who asked for which path and why, until when it may be answered, and
-- who answered it. The id is the one-time link's capability (192 random bits).
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0008_requests.sql

CREATE TABLE secret_requests (
  id                 text PRIMARY KEY CHECK (id ~ '^req_[A-Za-z0-9_-]{32}$'),
  key_path           text NOT NULL,
  description        text,
  principal          text NOT NULL,
  token_id           text,
  client             text NOT NULL,
  secret_expires_in  text,
  rotation_required  boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  provided_at        timestamptz,
  provided_by        text,
  CHECK ((provided_at IS NULL) = (provided_by IS NULL))
);

CREATE INDEX secret_requests_expires_at ON secret_requests (expires_at);

-- Approvals of sensitive reads (SECRETS_APPROVAL_REQUIRED): an agent's read of such a path waits for a human's
-- `secrets approve <id>`, bound to the principal (and token), the path and the operation; a grant lasts until
-- allowed_until and for uses_left reads.
CREATE TABLE secret_approvals (
  id             text PRIMARY KEY,
  principal      text NOT NULL,
  token_id       text,
  key_path       text NOT NULL,
  operation      text NOT NULL,
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
  decided_by     text,
  decided_at     timestamptz,
  allowed_until  timestamptz,
  uses_left      integer NOT NULL DEFAULT 0
);

CREATE INDEX secret_approvals_subject ON secret_approvals (principal, key_path, operation);
