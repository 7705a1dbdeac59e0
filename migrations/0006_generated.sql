-- How a value was made, when the store made it (`secrets generate`, `generate_secret`): its length and character
-- set, on the current version and on every kept one, so a later `generate --overwrite` makes the next value alike
-- instead of falling back to 32 alnum characters. NULL for a value someone set (or that was generated before this
-- migration): the store does not guess from the value, which would need decrypting it and could guess wrong.
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0006_generated.sql

ALTER TABLE secrets
  ADD COLUMN generated_length  integer,
  ADD COLUMN generated_charset text,
  ADD CHECK ((generated_length IS NULL) = (generated_charset IS NULL));

ALTER TABLE secret_versions
  ADD COLUMN generated_length  integer,
  ADD COLUMN generated_charset text,
  ADD CHECK ((generated_length IS NULL) = (generated_charset IS NULL));
