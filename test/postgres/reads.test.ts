/**
 * A batch's answers as the read path routes them: each read gets the outcome its record holds (the statement
 * returns them in the reads' order) and its own key path's row, whatever order the rows come in.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { answers, type ReadAttempt, refusingFlagged } from "../../src/postgres/readAnswers.js"
import type { Answer } from "../../src/postgres/readStatements.js"
import type { Row } from "../../src/postgres/schema.js"

const attempt = (keyPath: string, version: number | null = null): ReadAttempt => ({
  at: new Date(1_700_000_000_000),
  principal: "meta",
  client: "test",
  operation: "get",
  keyPath,
  version
})

/** A row as the statement returns it; only what routing looks at matters here. */
const row = (keyPath: string | null, outcomes: string): Row & Answer =>
  ({ id: keyPath === null ? null : 1, key_path: keyPath, key_open: true, flagged: null, outcomes }) as unknown as Row &
    Answer

describe("reads: a batch's answers", () => {
  it("routes each read its own outcome and its key path's row, in the reads' order", () => {
    const outcomes = "ok VersionNotFound ok NotFound "
    const rows = [row("meta/b", outcomes), row("meta/a", outcomes)]
    const reads = [attempt("meta/a"), attempt("meta/b", 9), attempt("meta/b"), attempt("meta/missing")]
    const answered = answers(reads, rows, outcomes)
    expect(answered.map((a) => [a.outcome, a.row?.key_path])).toEqual([
      ["ok", "meta/a"],
      ["VersionNotFound", "meta/b"],
      ["ok", "meta/b"],
      ["NotFound", undefined]
    ])
  })

  it("a batch of one key path answers every read from its one row", () => {
    const outcomes = "ok Expired "
    const answered = answers([attempt("meta/hot"), attempt("meta/hot")], [row("meta/hot", outcomes)], outcomes)
    expect(answered.map((a) => [a.outcome, a.row?.key_path])).toEqual([
      ["ok", "meta/hot"],
      ["Expired", "meta/hot"]
    ])
  })

  it("the row of nulls a batch that read nothing returns is no row", () => {
    const outcomes = "NotFound NotFound "
    const answered = answers([attempt("meta/x"), attempt("meta/y")], [row(null, outcomes)], outcomes)
    expect(answered).toEqual([
      { outcome: "NotFound", row: undefined },
      { outcome: "NotFound", row: undefined }
    ])
  })
})

describe("reads: a batch that met flagged secrets", () => {
  it.effect("answers its guarded reads of them ApprovalFlagged and sends the rest again, each in its place", () =>
    Effect.gen(function* () {
      const guarded = (keyPath: string): ReadAttempt => ({ ...attempt(keyPath), unlessFlagged: true })
      const reads = [guarded("meta/flagged"), attempt("meta/flagged"), guarded("meta/plain"), guarded("meta/flagged")]
      const resent: Array<ReadonlyArray<ReadAttempt>> = []
      const answered = yield* refusingFlagged(reads, new Set(["meta/flagged"]), (rest) => {
        resent.push(rest)
        return Effect.succeed(rest.map((a) => ({ outcome: "ok" as const, row: { key_path: a.keyPath } as Row })))
      })
      expect(resent).toEqual([[reads[1], reads[2]]])
      expect(answered.map((a) => [a.outcome, a.row?.key_path])).toEqual([
        ["ApprovalFlagged", undefined],
        ["ok", "meta/flagged"],
        ["ok", "meta/plain"],
        ["ApprovalFlagged", undefined]
      ])
    })
  )

  it.effect("with every read refused, sends nothing again", () =>
    Effect.gen(function* () {
      const reads: Array<ReadAttempt> = [{ ...attempt("meta/flagged"), unlessFlagged: true }]
      const answered = yield* refusingFlagged(reads, new Set(["meta/flagged"]), () => Effect.die("sent again"))
      expect(answered).toEqual([{ outcome: "ApprovalFlagged", row: undefined }])
    })
  )
})
