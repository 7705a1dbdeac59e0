/**
 * How the CLI talks: results on stdout, everything else on stderr as one clear line.
 */
import { Console, Effect } from "effect"
import { type SecretMetadata, toSummary } from "../domain/Secret.js"

/** Writes to stdout exactly, without a trailing newline (a value must come out byte for byte). */
export const writeStdout = (text: string) => Effect.sync(() => void process.stdout.write(text))

export const printLine = (text: string) => Console.log(text)

/** Notes for the person at the terminal go to stderr, so stdout stays clean for pipes. */
export const note = (text: string) => Console.error(text)

const iso = (date: Date | null) => (date === null ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z"))

/** `--json` output: the MCP summary plus who created the secret. */
export const metadataJson = (s: SecretMetadata) => ({ ...toSummary(s), createdBy: s.createdBy })

/** A plain table: key path, description, reads, last read, expiry. Never values. */
export const table = (secrets: ReadonlyArray<SecretMetadata>): string => {
  const header = ["KEY PATH", "DESCRIPTION", "READS", "LAST ACCESSED", "EXPIRES", "ROTATE"]
  const rows = secrets.map((s) => [
    s.keyPath,
    (s.description ?? "").replace(/\s+/g, " ").slice(0, 48),
    String(s.accessCount),
    iso(s.lastAccessedAt),
    iso(s.expiresAt),
    s.rotationRequired ? "yes" : ""
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}
