/**
 * What a detector reports: one secret in one file, where it is, how to name it, and its value (`Redacted`, held in
 * this process only: a plan and every listing carry the rest, never the value).
 */
import { Schema, type Redacted } from "effect"

/** The kinds of secret the scan finds, as listings and plans name them. */
export const Kind = Schema.Literal(
  "dotenv",
  "private-key",
  "key-file",
  "secret-file",
  "service-account",
  "npmrc",
  "pypirc",
  "netrc",
  "git-credentials",
  "docker-auth",
  "github-token",
  "stripe-key",
  "aws-access-key-id",
  "aws-secret-access-key",
  "slack-token",
  "slack-webhook",
  "openai-key",
  "anthropic-key",
  "google-api-key",
  "jwt"
)
export type Kind = typeof Kind.Type

export interface Found {
  readonly kind: Kind
  /** 1-based; 1 for a whole file. */
  readonly line: number
  /** The line the value ends on (a multi-line `.env` value, a whole file's last line). */
  readonly lastLine: number
  /**
   * Which one of the file's secrets this is, stable while the file is unchanged, and never a value: a variable's
   * name, a registry, a machine, or `line N #i` for the i-th token of its kind on line N.
   */
  readonly locator: string
  readonly value: Redacted.Redacted<string>
  /**
   * The segments that name it below its prefix, not yet normalised: one (`STRIPE_SECRET_KEY`), or a tool's context
   * and more (`npm`, `registry.npmjs.org`, `auth_token`), kept under every prefix.
   */
  readonly name: ReadonlyArray<string>
  /** The context segment under a bare scope (`meta/<context>/<name>`) for a one-segment name in the home itself. */
  readonly context: string
}

/** What the detectors made of one file. */
export interface Detection {
  readonly found: ReadonlyArray<Found>
  /** A `.env` file: removing its originals edits out the imported lines instead of moving the file. */
  readonly dotenv: boolean
  /** Variables of a `.env` that are settings, not secrets (a port, a mode): left where they are. */
  readonly settings: number
  /** Why a file that should hold secrets could not be read as such (a `.env` that does not parse). */
  readonly problem?: string | undefined
}

export const nothing: Detection = { found: [], dotenv: false, settings: 0 }
