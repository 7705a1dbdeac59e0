/**
 * Key switches written from a test as rotate-key writes them (the next number, a MAC under the key switched away
 * from, `active_key` moved in the same transaction), and as an intruder with write access to the database and only
 * an old key would: `active_key` set back, or a switch MACed under the wrong key.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Redacted } from "effect"
import * as Crypto from "../../src/crypto/Crypto.js"
import type * as EncryptionKey from "../../src/crypto/EncryptionKey.js"
import * as KeySwitch from "../../src/postgres/admin/keySwitch.js"

/** The MAC a switch carries when `key` made it. */
export const switchMac = (key: EncryptionKey.EncryptionKey, link: Omit<KeySwitch.Link, "mac">) =>
  Effect.map(Crypto.make(key).deriveKeyFor(key.id, KeySwitch.MAC_KEY_LABEL), (derived) =>
    KeySwitch.macOf(Redacted.value(derived), link)
  )

/** Records the next switch, from `from` to `to`, MACed under `signer` (`from` itself for an honest one). */
export const recordSwitch = (
  sql: SqlClient.SqlClient,
  from: EncryptionKey.EncryptionKey,
  to: string,
  signer: EncryptionKey.EncryptionKey = from
) =>
  sql.withTransaction(
    Effect.gen(function* () {
      const [next] = yield* sql<{ epoch: string }>`SELECT coalesce(max(epoch), 0) + 1 AS epoch FROM key_switches`
      const epoch = Number(next!.epoch)
      const mac = yield* switchMac(signer, { epoch, from: from.id, to })
      yield* sql`INSERT INTO key_switches (epoch, from_key_id, to_key_id, mac)
        VALUES (${epoch}, ${Buffer.from(from.id, "hex")}, ${Buffer.from(to, "hex")}, ${mac})`
      yield* setActiveKey(sql, to)
    })
  )

/** `active_key` set to `keyId`, and nothing else: what an intruder with only an old key can do. */
export const setActiveKey = (sql: SqlClient.SqlClient, keyId: string) =>
  sql`UPDATE store_meta SET value = ${Buffer.from(keyId, "hex")} WHERE name = 'active_key'`
