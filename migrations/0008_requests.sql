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
