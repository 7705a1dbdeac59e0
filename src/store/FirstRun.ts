/**
 * First run with nothing to lose: when no key is configured and no store exists yet, generate a key file
 * (0600) so `secrets init` and `secrets serve` work on a new machine. When a store exists but no key is
 * configured, nothing is generated: the store's data would be unreadable under a new key, so `KeyMissing`.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as StoreConfig from "../config/StoreConfig.js"
import * as EncryptionKey from "../crypto/EncryptionKey.js"
import { KeyMissing } from "../domain/errors.js"
import * as Database from "./Database.js"
import * as Embedded from "./Embedded.js"
import { withStoreErrors } from "./storeUnavailable.js"

/** True when the location already holds a store (any secrets or a key-check canary). */
export const storeExists = (location: StoreConfig.Location) => {
  if (location._tag === "Embedded") return Effect.succeed(Embedded.exists(location.dataDir))
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ present: boolean }>`SELECT to_regclass('store_meta') IS NOT NULL AS present`
    return rows[0]?.present === true
  }).pipe(withStoreErrors, Effect.provide(Database.layerLocation(location)))
}

export interface KeyOutcome {
  readonly key: EncryptionKey.EncryptionKey
  /** The file a new key was written to, when one was generated. */
  readonly generated: Option.Option<string>
}

const configured = Effect.map(
  EncryptionKey.configuredSource,
  (s) => Option.isSome(s.env) || Option.isSome(s.file) || fs.existsSync(s.defaultFile)
)

/** The configured key, or a freshly generated one when this is a first run. */
export const keyForFirstRun = (location: StoreConfig.Location) =>
  Effect.gen(function* () {
    if (yield* configured) return { key: yield* EncryptionKey.load, generated: Option.none() } as KeyOutcome
    const { defaultFile } = yield* EncryptionKey.configuredSource
    if (yield* storeExists(location)) return yield* new KeyMissing({ defaultKeyFile: defaultFile })
    const hex = EncryptionKey.generateHex()
    const written = yield* Effect.sync(() => {
      fs.mkdirSync(path.dirname(defaultFile), { recursive: true, mode: 0o700 })
      try {
        fs.writeFileSync(defaultFile, `${Redacted.value(hex)}\n`, { mode: 0o600, flag: "wx" })
        return true
      } catch (error) {
        // Another process on its first run wrote it a moment ago (several supervisors start at once): use theirs.
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
        throw error
      }
    })
    if (!written) return { key: yield* EncryptionKey.load, generated: Option.none() } as KeyOutcome
    const key = yield* EncryptionKey.fromHex(hex, defaultFile)
    return { key, generated: Option.some(defaultFile) } as KeyOutcome
  })
