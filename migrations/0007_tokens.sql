-- Bearer tokens of `secrets server`: each names the principal its caller acts as, with the grants and the reveal
-- policy it carries (src/tokens/). Only the SHA-256 of a token is kept: the token is 256 random bits, so the hash
-- cannot be turned back into it, and a lookup is one probe of the unique index. Every server on the database
-- reads this table on each authentication (within a second), so a revocation reaches all of them.
-- Every audit record also names the token (id and name) its caller presented; null for the CLI and stdio serve.
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0007_tokens.sql

CREATE TABLE tokens (
  -- `tok_` and 8 hex digits: public, as in lists and the audit trail.
  id           text PRIMARY KEY CHECK (id ~ '^tok_[0-9a-f]{8}$'),
  -- Unique among every token, revoked ones too, so a name in the audit trail names one token.
  name         text NOT NULL UNIQUE,
  token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  principal    text NOT NULL,
  -- As SECRETS_GRANTS spells them, canonical; empty for none.
  grants       text NOT NULL,
  reveal       text NOT NULL CHECK (reveal IN ('readable', 'grants', 'never')),
  operator     boolean NOT NULL,
  created_at   timestamptz NOT NULL,
  created_by   text NOT NULL,
  expires_at   timestamptz,
  -- Written at most once a minute per token (src/tokens/rules.ts), not once a call.
  last_used_at timestamptz,
  revoked_at   timestamptz
);

ALTER TABLE audit_log
  ADD COLUMN token_id   text,
  ADD COLUMN token_name text;
