-- The per-secret approval flag (`secrets flag <path> --approval-required`): an agent's read of a flagged secret
-- needs a human's approval, as a read of a path under SECRETS_APPROVAL_REQUIRED does (src/approvals/gate.ts).
-- Applies by hand too: psql "$DATABASE_URL" -f migrations/0009_approval_flag.sql

ALTER TABLE secrets ADD COLUMN approval_required boolean NOT NULL DEFAULT false;
