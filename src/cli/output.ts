/**
 * How the CLI talks: results on stdout, everything else on stderr as one clear line. Tables for people, JSON
 * (`--json`) for programs, never a value unless the command is `get`.
 */
import { Console, type Duration, Effect } from "effect"
import { isExpired, type SecretMetadata, type SetResult, toSummary, type VersionInfo } from "../domain/Secret.js"
import { restorableUntil } from "../repo/writePlan.js"

/** Writes to stdout exactly, without a trailing newline (a value must come out byte for byte). */
export const writeStdout = (text: string) => Effect.sync(() => void process.stdout.write(text))

export const printLine = (text: string) => Console.log(text)

/** Notes for the person at the terminal go to stderr, so stdout stays clean for pipes. */
export const note = (text: string) => Console.error(text)

export const iso = (date: Date | null) => (date === null ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z"))

/** `--json` output: the MCP summary plus who created the secret and who wrote its current version. */
export const metadataJson = (s: SecretMetadata, now: Date) => ({
  ...toSummary(s, now),
  createdBy: s.createdBy,
  updatedBy: s.updatedBy
})

/** Columns padded to their widest cell, two spaces apart. */
export const formatTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
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

const oneLine = (text: string | null, max = 48) => (text ?? "").replace(/\s+/g, " ").slice(0, max)

/** Key path, version, description, reads, last read, expiry, flag. Never values. */
export const table = (secrets: ReadonlyArray<SecretMetadata>, now: Date): string =>
  formatTable(
    ["KEY PATH", "VERSION", "DESCRIPTION", "READS", "LAST ACCESSED", "EXPIRES", "ROTATE"],
    secrets.map((s) => [
      s.keyPath,
      String(s.version),
      oneLine(s.description),
      String(s.accessCount),
      iso(s.lastAccessedAt),
      s.expiresAt === null ? "-" : `${iso(s.expiresAt)}${isExpired(s, now) ? " (expired)" : ""}`,
      s.rotationRequired ? "yes" : ""
    ])
  )

/** Deleted, still recoverable secrets: when, by whom, and until when `secrets undelete` can restore each. */
export const deletedTable = (secrets: ReadonlyArray<SecretMetadata>, retention: Duration.Duration): string =>
  formatTable(
    ["KEY PATH", "VERSION", "DELETED AT", "BY", "RESTORABLE UNTIL"],
    secrets.map((s) => [
      s.keyPath,
      String(s.version),
      iso(s.deletedAt),
      s.deletedBy ?? "",
      s.deletedAt === null ? "" : iso(restorableUntil(s.deletedAt, retention))
    ])
  )

/** Number, when, by whom, size, how the store generated it (`40 base64url`; `-` for a value someone set). */
export const versionsTable = (versions: ReadonlyArray<VersionInfo>): string =>
  formatTable(
    ["VERSION", "CREATED AT", "BY", "BYTES", "GENERATED", ""],
    versions.map((v) => [
      String(v.version),
      iso(v.createdAt),
      v.createdBy,
      String(v.bytes),
      v.generated === null ? "-" : `${v.generated.length} ${v.generated.charset}`,
      v.current ? "current" : ""
    ])
  )

/** One line on what a write did, the expiry and flag it left included, so a cleared expiry is never silent. */
export const describeWrite = (r: Omit<SetResult, "keyPath" | "description"> & { readonly keyPath: string }): string =>
  `${r.created ? "created" : "updated"} ${r.keyPath}: version ${r.version}, ` +
  `expires ${r.expiresAt === null ? "never" : iso(r.expiresAt)}, ` +
  `rotation ${r.rotationRequired ? "required" : "not required"}`
