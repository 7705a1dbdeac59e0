/**
 * Master key rotation, while other processes keep reading and writing. In order:
 *
 * 1. The switch: `store_meta.active_key` moves to the new key in a transaction that holds `secrets` in EXCLUSIVE
 *    mode, so it waits for every write transaction in progress, and every later write statement sees the new key
 *    and writes under it, or stops at the key gate (repo/sqlStatements.ts). The same transaction records the switch,
 *    numbered and authenticated by the key it switches away from (KeySwitch.ts): processes follow it only so. From
 *    then on no value under an old key can be written; a process that cannot find the new key gets `KeyRotated`.
 * 2. The passes: every value not under the new key, in `secrets` (in key path order) and `secret_versions`, is
 *    decrypted with the key its envelope names and encrypted under the new key for the same key path and version,
 *    a batch per statement. A row a writer changed meanwhile is left alone (its new version is under the new key).
 *    Each batch commits alone, so a `kill -9` loses at most the batch in flight, and nothing is half-written.
 * 3. The canary moves to the new key last: while it differs from `active_key`, the rotation is unfinished, and
 *    running it again resumes it (every pass skips what is already under the new key).
 *
 * Values that do not decrypt (damaged, or under a key this keyring lacks) are listed and left as they are; the
 * canary then stays, and the rotation is unfinished until they are repaired or destroyed.
 */
import { Effect, Fiber, Option, Redacted } from "effect"
import { Crypto, type Standing } from "../../crypto/Crypto.js"
import * as Envelope from "../../crypto/Envelope.js"
import { KeyRotated, StoreUnavailable } from "../../domain/errors.js"
import * as KeyCheck from "../keyGate.js"
import * as KeySwitch from "./keySwitch.js"
import * as KeyUsage from "./keyUsage.js"
import * as PgPool from "../PgPool.js"
import { remaining, type Rewritten, type Row, type Table, tables } from "./rotationTables.js"
import { sqlStateOf, withStoreErrors } from "../storeUnavailable.js"
import { type Damaged, damagedOf } from "./verify.js"

export interface Progress {
  /** Values re-encrypted so far in this run. */
  readonly done: number
  /** Values under other keys when this run began. */
  readonly total: number
}

export interface Options {
  /** Values per statement (`DEFAULT_BATCH_SIZE`). */
  readonly batchSize: number
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}

export interface Outcome {
  /** Values re-encrypted by this run. */
  readonly rotated: number
  /** Values still under other keys; when any, the canary did not move and the rotation is unfinished. */
  readonly left: number
  /** Values that could not be re-encrypted (damaged, or under a key this keyring lacks). */
  readonly damaged: ReadonlyArray<Damaged>
  readonly usage: KeyUsage.KeyUsage
}

/**
 * Values per statement. Measured on 100,000 (npm run bench:rotation): 500 rotates as fast as 1,000 and keeps other
 * readers' p99 lower (8 ms against 10, the worst read 15 ms against 25), since a batch holds its rows for half as
 * long; 250 is a quarter slower.
 */
export const DEFAULT_BATCH_SIZE = 500

/** How long the switch waits for write transactions in progress before trying again (others queue behind it). */
const SWITCH_LOCK_TIMEOUT = "500ms"
const SWITCH_ATTEMPTS = 20

export interface Switched {
  /** Where the store now stands: the switch made (or, when already on `keyId`, the one before). */
  readonly at: Standing
  /** Set when `active_key` named another key than the last authenticated switch had made it: a rollback undone. */
  readonly rolledBack: Option.Option<{ readonly storeKeyId: string; readonly reason: string }>
}

/**
 * Where a switch starts: the key the store's switches authenticate as its own (see KeySwitch.judge, from where this
 * process stands). A refused walk switches from as far as it authenticated, dropping what follows (a rollback is
 * undone); a configured key the switches never reached (a key file ahead of the store) from the store's key as it is.
 */
const switchingFrom = (chain: KeySwitch.Chain, crypto: Crypto["Type"]) =>
  Effect.gen(function* () {
    const verdict = yield* KeySwitch.judge(chain, crypto)
    const last = chain.links.at(-1)?.epoch ?? 0
    const at = verdict.at ?? (chain.active === undefined ? undefined : { epoch: last, keyId: chain.active })
    if (verdict._tag === "Lacking" || at === undefined) {
      const storeKeyId = verdict.at?.keyId ?? chain.active ?? "none"
      return yield* new KeyRotated({ storeKeyId, keyring: crypto.keyIds.join(",") })
    }
    const rolledBack =
      verdict._tag === "Refused" && verdict.at !== undefined
        ? Option.some({ storeKeyId: chain.active ?? "none", reason: verdict.reason })
        : Option.none()
    return { at, rolledBack }
  })

/**
 * Moves `active_key` to `keyId` once every write transaction in progress has ended, recording the switch (see 1.
 * above), and stands this process's Crypto there. The caller holds the rotation lock, and `keyId` was never the
 * store's key before (or is its key now: then nothing is recorded, and `active_key` is only put right).
 */
export const switchActiveKey = (keyId: string) =>
  Effect.gen(function* () {
    const db = yield* PgPool.PgPool
    const crypto = yield* Crypto
    const value = Buffer.from(keyId, "hex")
    const attempt = PgPool.transaction(db, ({ query }) =>
      Effect.gen(function* () {
        yield* query({ name: "", text: `SET LOCAL lock_timeout = '${SWITCH_LOCK_TIMEOUT}'` }, [])
        yield* query({ name: "", text: "LOCK TABLE secrets IN EXCLUSIVE MODE" }, [])
        const { at: from, rolledBack } = yield* switchingFrom(yield* KeySwitch.readOn(query), crypto)
        // Whatever follows the last authenticated switch was forged: dropped, so the chain goes on from it.
        yield* query({ name: "", text: "DELETE FROM key_switches WHERE epoch > $1" }, [from.epoch])
        let at = from
        if (from.keyId !== keyId) {
          at = { epoch: from.epoch + 1, keyId }
          const macKey = yield* crypto.deriveKeyFor(from.keyId, KeySwitch.MAC_KEY_LABEL)
          const link = { epoch: at.epoch, from: from.keyId, to: keyId }
          const mac = KeySwitch.macOf(Redacted.value(macKey), link)
          yield* query(KeySwitch.INSERT, [at.epoch, Buffer.from(from.keyId, "hex"), value, mac])
        }
        yield* query(
          {
            name: "",
            text: `INSERT INTO store_meta (name, value) VALUES ('${KeyCheck.ACTIVE_KEY_NAME}', $1)
              ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`
          },
          [value]
        )
        return { at, rolledBack } satisfies Switched
      })
    )
    for (let i = 1; ; i++) {
      const result = yield* Effect.either(attempt)
      if (result._tag === "Right") {
        yield* crypto.stand(result.right.at)
        return result.right
      }
      // 55P03: a long write transaction held `secrets`; let the queue behind us drain, then try again.
      const error = result.left
      if (error._tag !== "SqlError" || sqlStateOf(error) !== "55P03" || i === SWITCH_ATTEMPTS) {
        return yield* Effect.fail(error)
      }
      yield* Effect.sleep(100)
    }
  }).pipe(
    Effect.catchTag("KeyNotInKeyring", (e) => Effect.fail(new KeyRotated({ storeKeyId: e.keyId, keyring: e.keyring }))),
    withStoreErrors
  )

/**
 * Re-encrypts every value not under the active key of `Crypto` (the new key, already switched to), then moves the
 * canary. The caller holds the rotation lock (`withLock`).
 */
export const reencryptAll = (options: Options) =>
  Effect.gen(function* () {
    const crypto = yield* Crypto
    const db = yield* PgPool.PgPool
    const target = crypto.keyId
    const targetBytes = Buffer.from(target, "hex")
    const report = options.onProgress ?? (() => Effect.void)
    const total = yield* remaining(target)
    let done = 0
    yield* report({ done, total })

    /** Re-encrypts a batch; what does not decrypt goes to `damaged`. */
    const reencrypt = <Cursor>(rows: ReadonlyArray<Row<Cursor>>, damaged: Array<Damaged>) =>
      Effect.map(
        crypto.reencrypt(
          rows.map((row) => ({ stored: row.encrypted, binding: { keyPath: row.keyPath, version: row.version } }))
        ),
        (outcomes) => {
          const rewritten: Array<Rewritten> = []
          rows.forEach((row, i) => {
            const outcome = outcomes[i]!
            if (Buffer.isBuffer(outcome)) {
              rewritten.push({ id: row.id, version: row.version, fresh: outcome })
              return
            }
            damaged.push(damagedOf(row.keyPath, row.version, row.encrypted, outcome))
          })
          return rewritten
        }
      )

    /** One pass over a table; returns the values it could not re-encrypt. */
    const pass = <Cursor>(table: Table<Cursor>) =>
      Effect.gen(function* () {
        const damaged: Array<Damaged> = []
        // A forked statement reaches the server only after this fiber gives the event loop a turn (the pool checks
        // out a connection asynchronously): a yield to the microtask queue is not enough, so it sleeps for 0 ms before
        // encrypting for milliseconds. Measured on 100,000 values: the waits for writes fell from 2.5 s to 0.2 s.
        const start = <A>(statement: Effect.Effect<A, StoreUnavailable>) =>
          Effect.zipLeft(Effect.fork(statement), Effect.sleep(0))
        const fetch = (after: Cursor) => start(table.fetch(after, targetBytes, options.batchSize).pipe(withStoreErrors))
        // A pipeline over three connections and both cores: while a batch is encrypted here, the next one is fetched
        // and the last one written. Encryption is the longest step (measured: about 14 µs a value, writing 12 µs).
        let writing: Fiber.Fiber<number, StoreUnavailable> | undefined
        const written = Effect.gen(function* () {
          if (writing === undefined) return
          done += yield* Fiber.join(writing)
          writing = undefined
          yield* report({ done: Math.min(done, total), total })
        })
        let fetching = yield* fetch(table.start)
        for (;;) {
          const rows = yield* Fiber.join(fetching)
          if (rows.length === 0) break
          fetching = yield* fetch(rows[rows.length - 1]!.cursor)
          const rewritten = yield* reencrypt(rows, damaged)
          yield* written
          if (rewritten.length > 0) writing = yield* start(table.rewrite(rewritten).pipe(withStoreErrors))
        }
        yield* written
        return damaged
      })

    // Again until a pass finds nothing more to do. After the switch one round suffices (a value a writer replaced
    // during the `secrets` pass is in `secret_versions` before that table's pass begins); this is the safety net.
    let damaged: ReadonlyArray<Damaged> = []
    let left = total
    for (;;) {
      const before = done
      const [secrets, versions] = tables(db)
      damaged = [...(yield* pass(secrets)), ...(yield* pass(versions))]
      left = yield* remaining(target)
      if (done === before || left === damaged.length) break
    }
    if (left === 0) yield* KeyCheck.moveCanary
    return { rotated: done, left, damaged, usage: yield* KeyUsage.usage } satisfies Outcome
  })

const LOCK = "hashtext('secrets-mcp key rotation')"

/**
 * Runs `effect` holding the store's rotation lock (a session advisory lock on a connection of its own, released
 * when the connection closes, also after a `kill -9`). Waits while another rotation holds it, saying so once.
 */
export const withLock = <A, E, R>(effect: Effect.Effect<A, E, R>, onWait: Effect.Effect<void> = Effect.void) =>
  Effect.gen(function* () {
    const db = yield* PgPool.PgPool
    return yield* Effect.acquireUseRelease(
      Effect.gen(function* () {
        const client = yield* Effect.tryPromise({
          try: () => db.pool.connect(),
          catch: () => new StoreUnavailable({ reason: "no connection for the rotation lock" })
        })
        let waited = false
        for (;;) {
          const taken = yield* Effect.tryPromise({
            try: () => client.query<{ taken: boolean }>(`SELECT pg_try_advisory_lock(${LOCK}) AS taken`),
            catch: () => new StoreUnavailable({ reason: "the rotation lock could not be taken" })
          }).pipe(Effect.tapError(() => Effect.sync(() => client.release(true))))
          if (taken.rows[0]?.taken === true) return client
          if (!waited) yield* onWait
          waited = true
          yield* Effect.sleep(200)
        }
      }),
      () => effect,
      (client) =>
        Effect.promise(() =>
          client.query(`SELECT pg_advisory_unlock(${LOCK})`).then(
            () => client.release(),
            () => client.release(true)
          )
        )
    )
  })

/** The store's active key id and the canary's: they differ exactly while a rotation is unfinished. */
export const state = Effect.gen(function* () {
  const active = yield* KeyCheck.storedActiveKeyId
  const canary = yield* KeyCheck.storedCanary
  return {
    active,
    canary: Option.flatMap(canary, (value) => Option.fromNullable(Envelope.keyIdOf(value)))
  }
})
