/**
 * Tampering with the audit trail in the database, as someone with database access but without the master key
 * could. A store writes a few records (sets, gets, a NotFound read) as one actor and closes, vouching for every
 * stream's head; then each case changes a copy of that trail with plain SQL: one record's field, a deleted record
 * in the middle or at the end of a stream, a forged record, two records swapped, a checkpoint altered or deleted.
 * `AuditLog.verify` must report each at that record (its stream and seq) or checkpoint; the trail as written
 * verifies, with its length. `secrets audit verify` says the same: exit 0 with the counts, or 36 with the problem.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import type pg from "pg"
import * as Audit from "../../src/audit/Actor.js"
import { AuditLog } from "../../src/audit/AuditLog.js"
import type { Verdict } from "../../src/audit/verify.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"
import { SecretsRepo } from "../../src/repo/SecretsRepo.js"
import { expectError, expectOk, makeSandbox } from "../cli/harness.js"
import { TEST_DATABASE_URL } from "../support/postgres.js"
import {
  connectRaw,
  embeddedPlace,
  rawQuery,
  serverPlace,
  type StorePlace,
  withStoreAt
} from "../support/storePlaces.js"

const ACTOR = { principal: "project:tamper", client: "tamper-test 1.0" }
const API_KEY = parseKeyPathSync("project/tamper/api_key")
const DB_PASSWORD = parseKeyPathSync("project/tamper/db_password")
const MISSING = parseKeyPathSync("project/tamper/missing")

/** Three sets and five reads; the reads are the read path's stream, seq 0 to 4, the NotFound one at seq 1. */
const RECORDS = 8
const writeTrail = Effect.gen(function* () {
  const repo = yield* SecretsRepo
  yield* repo.set(API_KEY, Redacted.make("v1"))
  yield* repo.set(DB_PASSWORD, Redacted.make("p1"))
  yield* repo.get(API_KEY)
  expect((yield* Effect.flip(repo.get(MISSING)))._tag).toBe("NotFound")
  yield* repo.get(DB_PASSWORD)
  yield* repo.get(API_KEY)
  yield* repo.set(API_KEY, Redacted.make("v2"))
  yield* repo.get(API_KEY)
}).pipe(Audit.withActor(ACTOR))

const COLUMNS = `at, principal, client, operation, key_path, version, outcome, key_id, attempt_mac, mac`

/** The trail as the store left it, a store open on it to verify with, and a plain connection to change it. */
class Trail extends Context.Tag("test/Trail")<
  Trail,
  {
    readonly place: StorePlace
    readonly raw: pg.Client
    /** The read path's stream: the five gets, seq 0 to 4. */
    readonly reads: string
    readonly verify: Effect.Effect<Verdict>
    readonly verifySince: (head: string) => Effect.Effect<Verdict>
    /** Puts the trail back as it was written. */
    readonly restore: Effect.Effect<void>
  }
>() {}

const trailAt = (where: Effect.Effect<StorePlace, never, Scope.Scope>) =>
  Layer.scoped(
    Trail,
    Effect.gen(function* () {
      const place = yield* where
      yield* withStoreAt(place, writeTrail)
      const raw = yield* connectRaw(place)
      yield* rawQuery(
        raw,
        `CREATE TABLE pristine_log AS SELECT * FROM audit_log;
         CREATE TABLE pristine_checkpoints AS SELECT * FROM audit_checkpoints`
      )
      const streams = yield* rawQuery<{ stream: string }>(
        raw,
        `SELECT DISTINCT stream FROM audit_log WHERE operation = 'get'`
      )
      expect(streams).toHaveLength(1)
      const verifier = yield* Layer.build(place.store())
      const log = Context.get(verifier, AuditLog)
      return {
        place,
        raw,
        reads: streams[0]!.stream,
        verify: Effect.orDie(log.verify),
        verifySince: (head: string) => Effect.orDie(log.verifySince(head)),
        // One simple-protocol query: one transaction.
        restore: Effect.asVoid(
          rawQuery(
            raw,
            `TRUNCATE audit_log, audit_checkpoints;
             INSERT INTO audit_log SELECT * FROM pristine_log;
             INSERT INTO audit_checkpoints OVERRIDING SYSTEM VALUE SELECT * FROM pristine_checkpoints`
          )
        )
      }
    })
  )

/** Restores the trail (and checks that it verifies), runs `statements`, and returns the verdict on the result. */
const tampered = (statements: string, params: ReadonlyArray<unknown> = []) =>
  Effect.gen(function* () {
    const trail = yield* Trail
    yield* trail.restore
    expect(yield* trail.verify).toMatchObject({ intact: true, records: RECORDS })
    const changed = yield* Effect.promise(() => trail.raw.query(statements, [...params]))
    expect([changed].flat().reduce((n, result) => n + (result.rowCount ?? 0), 0)).toBeGreaterThan(0)
    const verdict = yield* trail.verify
    expect(verdict.intact).toBe(false)
    return verdict as Extract<Verdict, { intact: false }>
  })

/** A verdict at record `seq` of `stream`, whose problem says `what`. */
const expectAtRecord = (verdict: Verdict, stream: string, seq: number, what: string) => {
  expect(verdict).toMatchObject({ intact: false, stream, seq })
  if (verdict.intact) return
  expect(verdict.problem).toContain(`record ${seq} of stream ${stream} (`)
  expect(verdict.problem).toContain(what)
}

const NOT_AUTHENTIC = "does not authenticate: altered, inserted or reordered"

/** The id of the checkpoint of `kind` for `stream`, and of the one after it. */
const checkpointOf = (kind: string, stream: string) =>
  Effect.gen(function* () {
    const trail = yield* Trail
    const [row] = yield* rawQuery<{ id: string; next: string | null }>(
      trail.raw,
      `SELECT id, (SELECT min(id) FROM pristine_checkpoints n WHERE n.id > c.id) AS next
       FROM pristine_checkpoints c WHERE kind = $1 AND stream = $2`,
      [kind, stream]
    )
    expect(row).toBeDefined()
    return { id: Number(row!.id), next: row!.next === null ? undefined : Number(row!.next) }
  })

const tamperSuite = (where: Effect.Effect<StorePlace, never, Scope.Scope>) =>
  layer(trailAt(where), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("a trail cut short at its end cannot be told from a shorter one, but a head noted earlier can", () =>
      Effect.gen(function* () {
        const trail = yield* Trail
        yield* trail.restore
        const noted = yield* trail.verify
        if (!noted.intact) throw new Error(noted.problem)
        expect(noted.head).toMatch(/^[0-9a-f]{16}$/)
        expect(yield* trail.verifySince(noted.head)).toMatchObject({ intact: true })
        yield* rawQuery(trail.raw, `DELETE FROM audit_checkpoints WHERE id = (SELECT max(id) FROM audit_checkpoints)`)
        expect(yield* trail.verify).toMatchObject({ intact: true })
        const cut = yield* trail.verifySince(noted.head)
        expect(cut).toMatchObject({ intact: false })
        if (!cut.intact) expect(cut.problem).toContain(`the checkpoint noted as head ${noted.head} is gone`)
      })
    )

    it.effect("the trail as written verifies, with its length", () =>
      Effect.gen(function* () {
        const trail = yield* Trail
        yield* trail.restore
        const [counts] = yield* rawQuery<{ records: number; streams: number; checkpoints: number }>(
          trail.raw,
          `SELECT (SELECT count(*)::int FROM audit_log) AS records,
                  (SELECT count(DISTINCT stream)::int FROM audit_log) AS streams,
                  (SELECT count(*)::int FROM audit_checkpoints) AS checkpoints`
        )
        expect(counts!.records).toBe(RECORDS)
        expect(yield* trail.verify).toMatchObject({ intact: true, ...counts })
        // What the trail holds: the reads in order, the NotFound one among them.
        const reads = yield* rawQuery<{ seq: string; key_path: string; outcome: string; principal: string }>(
          trail.raw,
          `SELECT seq, key_path, outcome, principal FROM audit_log WHERE stream = $1 ORDER BY seq`,
          [trail.reads]
        )
        expect(reads.map((r) => [Number(r.seq), r.key_path, r.outcome, r.principal])).toEqual([
          [0, API_KEY.keyPath, "ok", ACTOR.principal],
          [1, MISSING.keyPath, "NotFound", ACTOR.principal],
          [2, DB_PASSWORD.keyPath, "ok", ACTOR.principal],
          [3, API_KEY.keyPath, "ok", ACTOR.principal],
          [4, API_KEY.keyPath, "ok", ACTOR.principal]
        ])
        // Every stream was vouched for when the store closed, at its last record.
        const unvouched = yield* rawQuery(
          trail.raw,
          `SELECT stream, max(seq) FROM audit_log l GROUP BY stream HAVING NOT EXISTS (
             SELECT 1 FROM audit_checkpoints c WHERE c.kind = 'close' AND c.stream = l.stream AND c.seq = max(l.seq))`
        )
        expect(unvouched).toEqual([])
      })
    )

    it.effect("a NotFound read's outcome changed to ok: reported at that record, as an altered outcome", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const verdict = yield* tampered(
          `UPDATE audit_log SET outcome = 'ok' WHERE stream = $1 AND seq = 1 AND outcome = 'NotFound'`,
          [reads]
        )
        expectAtRecord(verdict, reads, 1, "its outcome was altered")
      })
    )

    const fields: ReadonlyArray<readonly [string, string]> = [
      ["principal", `principal = 'project:someone_else'`],
      ["client", `client = 'innocent 1.0'`],
      ["operation", `operation = 'list'`],
      ["key_path", `key_path = 'project/tamper/api_key'`],
      ["version", `version = 1`],
      ["at", `at = at + interval '1 second'`],
      // A token named on a record that had none (a CLI read made to look like a server caller's).
      ["token_id", `token_id = 'tok_0a1b2c3d', token_name = 'alpha-laptop'`]
    ]
    for (const [field, assignment] of fields) {
      it.effect(`a record's ${field} altered: reported at that record`, () =>
        Effect.gen(function* () {
          const { reads } = yield* Trail
          const verdict = yield* tampered(`UPDATE audit_log SET ${assignment} WHERE stream = $1 AND seq = 2`, [reads])
          expectAtRecord(verdict, reads, 2, NOT_AUTHENTIC)
        })
      )
    }

    it.effect("a record deleted from the middle of a stream: reported as missing, at its seq", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const verdict = yield* tampered(`DELETE FROM audit_log WHERE stream = $1 AND seq = 2`, [reads])
        expect(verdict).toMatchObject({ intact: false, stream: reads, seq: 2 })
        expect(verdict.problem).toContain(`record 2 of stream ${reads} is missing: deleted before record 3 of stream`)
      })
    )

    it.effect("the last records of a stream deleted: the checkpoint that vouched for its head reports them", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const close = yield* checkpointOf("close", reads)
        const verdict = yield* tampered(`DELETE FROM audit_log WHERE stream = $1 AND seq >= 3`, [reads])
        expect(verdict).toMatchObject({ intact: false, stream: reads, seq: 4 })
        expect(verdict.problem).toBe(
          `checkpoint #${close.id} vouches for record 4 of stream ${reads}, which is missing or altered: records were deleted`
        )
      })
    )

    it.effect("a whole stream deleted: its closing checkpoint reports it", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const verdict = yield* tampered(`DELETE FROM audit_log WHERE stream = $1`, [reads])
        expect(verdict).toMatchObject({ intact: false, stream: reads, seq: 4 })
        expect(verdict.problem).toContain("records were deleted")
      })
    )

    it.effect("a record appended by replaying the last one's MACs: reported at the forged record", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const verdict = yield* tampered(
          `INSERT INTO audit_log (stream, seq, ${COLUMNS})
           SELECT stream, 5, at + interval '1 second', principal, client, operation, key_path, version, outcome,
                  key_id, attempt_mac, mac
           FROM audit_log WHERE stream = $1 AND seq = 4`,
          [reads]
        )
        expectAtRecord(verdict, reads, 5, NOT_AUTHENTIC)
      })
    )

    it.effect("a record inserted in the middle (the rest moved up one): reported at the forged record", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        // Several statements in one query (one transaction) take no parameters; a stream id is a UUID.
        const verdict = yield* tampered(
          `UPDATE audit_log SET seq = seq + 100 WHERE stream = '${reads}' AND seq >= 2;
           UPDATE audit_log SET seq = seq - 99 WHERE stream = '${reads}' AND seq >= 100;
           INSERT INTO audit_log (stream, seq, ${COLUMNS})
           SELECT stream, 2, at, 'project:someone_else', client, operation, key_path, version, outcome,
                  key_id, attempt_mac, mac
           FROM audit_log WHERE stream = '${reads}' AND seq = 1`
        )
        expectAtRecord(verdict, reads, 2, NOT_AUTHENTIC)
      })
    )

    it.effect("a record forged in a stream of its own: reported as a stream without an opening", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const forged = randomUUID()
        const verdict = yield* tampered(
          `INSERT INTO audit_log (stream, seq, ${COLUMNS})
           SELECT $2, 0, ${COLUMNS} FROM audit_log WHERE stream = $1 AND seq = 0`,
          [reads, forged]
        )
        expect(verdict).toEqual({
          intact: false,
          problem: `stream ${forged} has no opening checkpoint: its records were inserted`,
          stream: forged
        })
      })
    )

    it.effect("two records swapped by their seq: reported at the first of them", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        // In steps: the primary key is checked row by row.
        const verdict = yield* tampered(
          `UPDATE audit_log SET seq = -1 WHERE stream = '${reads}' AND seq = 1;
           UPDATE audit_log SET seq = 1 WHERE stream = '${reads}' AND seq = 2;
           UPDATE audit_log SET seq = 2 WHERE stream = '${reads}' AND seq = -1`
        )
        expectAtRecord(verdict, reads, 1, NOT_AUTHENTIC)
      })
    )

    it.effect("two records swapped by their contents, MACs included: reported at the first of them", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        // UPDATE ... FROM reads both rows as they were before it.
        const verdict = yield* tampered(
          `UPDATE audit_log a SET (${COLUMNS}) = (${COLUMNS.split(", ")
            .map((c) => `b.${c}`)
            .join(", ")})
           FROM audit_log b
           WHERE a.stream = $1 AND b.stream = $1 AND a.seq IN (1, 2) AND b.seq IN (1, 2) AND a.seq <> b.seq`,
          [reads]
        )
        expectAtRecord(verdict, reads, 1, NOT_AUTHENTIC)
      })
    )

    it.effect("a checkpoint altered (its time, its head, its kind): reported at that checkpoint", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const open = yield* checkpointOf("open", reads)
        const close = yield* checkpointOf("close", reads)
        const changes: ReadonlyArray<readonly [number, string]> = [
          [open.id, `at = at - interval '1 minute'`],
          [close.id, `head = (SELECT attempt_mac FROM audit_log WHERE stream = '${reads}' AND seq = 3)`],
          [close.id, `kind = 'head'`]
        ]
        for (const [id, assignment] of changes) {
          const verdict = yield* tampered(`UPDATE audit_checkpoints SET ${assignment} WHERE id = $1`, [id])
          expect(verdict.problem).toMatch(new RegExp(`^checkpoint #${id} \\(\\w+, [^)]+\\) does not authenticate`))
          expect(verdict).not.toHaveProperty("seq")
        }
      })
    )

    it.effect("a checkpoint deleted: reported at the one after it", () =>
      Effect.gen(function* () {
        const { reads } = yield* Trail
        const open = yield* checkpointOf("open", reads)
        expect(open.next).toBeDefined()
        const verdict = yield* tampered(`DELETE FROM audit_checkpoints WHERE id = $1`, [open.id])
        expect(verdict.problem).toMatch(
          new RegExp(`^checkpoint #${open.next} \\(\\w+, [^)]+\\) does not authenticate: it or the one before it`)
        )
      })
    )

    it.effect("a stream's last record deleted with the checkpoint that vouched for it: the chain reports it", () =>
      Effect.gen(function* () {
        const trail = yield* Trail
        // A closing checkpoint with another after it (the last one has nothing after it to vouch for it).
        const [close] = yield* rawQuery<{ id: string; stream: string; seq: string; next: string }>(
          trail.raw,
          `SELECT id, stream, seq, (SELECT min(id) FROM pristine_checkpoints n WHERE n.id > c.id) AS next
           FROM pristine_checkpoints c WHERE kind = 'close' AND seq >= 0 ORDER BY id LIMIT 1`
        )
        expect(close?.next).not.toBeNull()
        const verdict = yield* tampered(
          `DELETE FROM audit_log WHERE stream = '${close!.stream}' AND seq = ${close!.seq};
           DELETE FROM audit_checkpoints WHERE id = ${close!.id}`
        )
        expect(verdict.problem).toMatch(
          new RegExp(`^checkpoint #${close!.next} \\(\\w+, [^)]+\\) does not authenticate`)
        )
      })
    )

    it.effect("secrets audit verify: exit 0 with the counts when intact, 36 with the problem when not", () =>
      Effect.gen(function* () {
        const trail = yield* Trail
        const box = yield* Effect.acquireRelease(
          Effect.sync(() => makeSandbox("secrets-tamper-")),
          (box) => Effect.sync(() => box.remove())
        )
        const verify = () => Effect.promise(() => box.run(["audit", "verify"], { env: trail.place.env }))
        yield* trail.restore
        const verdict = yield* trail.verify
        if (!verdict.intact) throw new Error(verdict.problem)
        const intact = yield* verify()
        expectOk(intact)
        expect(intact.stderr).toBe("")
        expect(intact.stdout).toBe(
          `the audit trail is intact: ${RECORDS} records in ${verdict.streams} stream${verdict.streams === 1 ? "" : "s"}, ` +
            `${verdict.checkpoints} checkpoints; head ${verdict.head}\n`
        )

        yield* tampered(`UPDATE audit_log SET outcome = 'ok' WHERE stream = $1 AND seq = 1`, [trail.reads])
        const line = expectError(yield* verify(), 36, `error: The audit trail does not verify: record 1 of stream`)
        expect(line).toContain(`record 1 of stream ${trail.reads} (`)
        expect(line).toContain("its outcome was altered")
      }).pipe(Effect.scoped)
    )
  })

tamperSuite(embeddedPlace)

describe.skipIf(TEST_DATABASE_URL === undefined)("PostgreSQL server (TEST_DATABASE_URL)", () => {
  tamperSuite(serverPlace)
})
