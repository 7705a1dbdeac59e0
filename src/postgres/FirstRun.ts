/**
 * Which key opens the store, and first runs. With a key configured, that key. With none: on a new machine
 * (no store yet) `init` and the embedded `serve` generate a key file (0600); when a store exists, nothing is
 * generated (its data would be unreadable under a new key) and `KeyMissing` names the store's key id, read from
 * its key-check canary, so the operator knows which key to bring.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as Settings from "../config/Settings.js"
import * as StoreConfig from "../config/StoreConfig.js"
import * as EncryptionKey from "../crypto/EncryptionKey.js"
import * as Envelope from "../crypto/Envelope.js"
import * as Keyring from "../crypto/Keyring.js"
import { KeyMissing } from "../domain/errors.js"
import * as Database from "./Database.js"
import * as Embedded from "./embedded/Embedded.js"
import { withStoreErrors } from "./storeUnavailable.js"

/**
 * The key id a store was created with, read from its canary without any key; none when there is no store yet.
 * A store with tables but no canary (damaged) reports "unknown".
 */
export const storeKeyId = (settings: Pick<Settings.Settings, "location" | "server" | "embeddedIdle">) => {
  const { location } = settings
  const query = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [present] = yield* sql<{ present: boolean }>`SELECT to_regclass('store_meta') IS NOT NULL AS present`
    if (present?.present !== true) return Option.none<string>()
    const [canary] = yield* sql<{ value: Uint8Array }>`SELECT value FROM store_meta WHERE name = 'key_check'`
    return Option.some(canary === undefined ? "unknown" : (Envelope.keyIdOf(canary.value) ?? "unknown"))
  }).pipe(withStoreErrors, Effect.provide(Database.layerFor(settings)))
  if (location._tag === "Server") return query
  // Checked before anything else, so that a first run never writes a key for a data directory it may not use.
  return Effect.flatMap(Embedded.exists(location.dataDir), (exists) => (exists ? query : Effect.succeedNone))
}

export interface KeyOutcome {
  /** The active key. */
  readonly key: EncryptionKey.EncryptionKey
  /** It and any previous keys (see Keyring.ts). */
  readonly keyring: Keyring.Keyring
  /** The file a new key was written to, when one was generated. */
  readonly generated: Option.Option<string>
}

/**
 * What a person must learn on the run that made the key: where the key file is, which store it opens, and that the
 * store is lost without a copy. One text for stderr, the MCP client (a log notification) and `secrets init`.
 */
export const backupNotice = (keyFile: string, keyId: string, location: StoreConfig.Location) =>
  `First run: generated a new encryption key in ${keyFile} (mode 0600, key id ${keyId}) for the new ` +
  `${location._tag === "Embedded" ? `embedded store in ${location.dataDir}` : "store on the PostgreSQL server (DATABASE_URL)"}. Back the key file up now, away from this machine: without a copy of it ` +
  `nobody can read the secrets in this store, and it is lost. \`secrets doctor\` says where the key file is.`

const isConfigured = (source: Settings.KeySource) =>
  Option.isSome(source.env) || Option.isSome(source.file) || fs.existsSync(source.defaultFile)

/**
 * The configured key; without one, a new key file when `firstRun` allows it and no store exists yet, else
 * `KeyMissing` (naming the store's key id when there is a store).
 */
export const resolveKey = (settings: Settings.Settings, options: { readonly firstRun: boolean }) =>
  Effect.gen(function* () {
    const configured = Effect.map(Keyring.load(settings.key), (keyring): KeyOutcome => ({
      key: keyring.active,
      keyring,
      generated: Option.none()
    }))
    if (isConfigured(settings.key)) return yield* configured
    const defaultKeyFile = settings.key.defaultFile
    const existing = yield* storeKeyId(settings)
    if (Option.isSome(existing)) return yield* new KeyMissing({ defaultKeyFile, storeKeyId: existing.value })
    if (!options.firstRun) return yield* new KeyMissing({ defaultKeyFile })
    const hex = EncryptionKey.generateHex()
    const written = yield* Effect.sync(() => {
      fs.mkdirSync(path.dirname(defaultKeyFile), { recursive: true, mode: 0o700 })
      try {
        fs.writeFileSync(defaultKeyFile, `${Redacted.value(hex)}\n`, { mode: 0o600, flag: "wx" })
        return true
      } catch (error) {
        // Another process on its first run wrote it a moment ago (several supervisors start at once): use theirs.
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
        throw error
      }
    })
    const outcome = yield* configured
    return written ? { ...outcome, generated: Option.some(defaultKeyFile) } : outcome
  })
