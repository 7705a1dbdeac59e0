/**
 * Carrying out the operator's token step, on a real file system: through the TokenStore in the context (here the
 * memory store) the token is made as an operator token of meta, written 0600 for the operator and never replaced;
 * without a store the step is pending and writes nothing; a link planted on the way is refused and the token made
 * for it revoked. Runs as whoever runs the tests: the operator is this process's own user.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { execute, PENDING_TOKEN } from "../../src/deploy/execute.js"
import type { Account } from "../../src/deploy/inputs.js"
import type { Step } from "../../src/deploy/steps.js"
import * as MemoryTokens from "../../src/tokens/memory.js"
import * as Token from "../../src/tokens/Token.js"
import { TokenStore } from "../../src/tokens/TokenStore.js"

const scratch = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "secrets-deploy-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const me = os.userInfo()

/** The operator (this user) with a home in `root`, and the steps that give them a token. */
const setup = (root: string) => {
  const home = path.join(root, "home")
  fs.mkdirSync(home, { mode: 0o750 })
  const operator: Account = { name: me.username, uid: me.uid, gid: me.gid, home }
  const dir = path.join(home, ".config", "secrets-mcp")
  const file = path.join(dir, "token")
  const steps: ReadonlyArray<Step> = [
    { _tag: "MakeDirectory", path: path.dirname(dir), owner: "operator", mode: 0o700 },
    { _tag: "MakeDirectory", path: dir, owner: "operator", mode: 0o700 },
    { _tag: "OperatorToken", path: file, operator: me.username, existing: "none" }
  ]
  return { operator, dir, file, steps, context: { user: "secrets-mcp", operator } }
}

describe("the operator token step", () => {
  it.scoped("through the TokenStore: an operator token of meta, 0600 in 0700 directories, that authenticates", () =>
    Effect.gen(function* () {
      const { context, dir, file, steps } = setup(yield* scratch)
      const outcome = yield* execute({ steps, notes: [] }, context)
      expect(outcome.pending).toEqual([])
      expect(outcome.done).toHaveLength(3)
      for (const [where, mode] of [
        [path.dirname(dir), 0o700],
        [dir, 0o700],
        [file, 0o600]
      ] as const) {
        const stat = fs.lstatSync(where)
        expect({ where, uid: stat.uid, mode: stat.mode & 0o777 }).toEqual({ where, uid: me.uid, mode })
      }
      const text = fs.readFileSync(file, "utf8")
      const token = Either.getOrThrow(Token.parse(text))
      const record = yield* (yield* TokenStore).authenticate(token)
      expect(record).toMatchObject({ principal: "meta", operator: true, name: `operator-${me.username}` })
      // Never printed: the outcome names the file, not the token.
      expect(JSON.stringify(outcome)).not.toContain(Redacted.value(token))
    }).pipe(Effect.provide(MemoryTokens.layer))
  )

  it.scoped("a second token for the same operator gets a name of its own", () =>
    Effect.gen(function* () {
      const first = setup(yield* scratch)
      yield* execute({ steps: first.steps, notes: [] }, first.context)
      fs.rmSync(first.file)
      yield* execute({ steps: first.steps.slice(2), notes: [] }, first.context)
      const names = (yield* (yield* TokenStore).list).map((r) => r.name)
      expect(names).toEqual([`operator-${me.username}`, `operator-${me.username}-2`])
    }).pipe(Effect.provide(MemoryTokens.layer))
  )

  it.scoped("without a token store the step is pending and nothing is written", () =>
    Effect.gen(function* () {
      const { context, dir, file, steps } = setup(yield* scratch)
      const outcome = yield* execute({ steps, notes: [] }, context)
      expect(outcome.done).toHaveLength(2)
      expect(outcome.pending).toEqual([expect.stringContaining(PENDING_TOKEN)])
      expect(fs.existsSync(dir)).toBe(true)
      expect(fs.existsSync(file)).toBe(false)
    })
  )

  it.scoped("a link planted as the token file: refused, its target untouched, the token made for it revoked", () =>
    Effect.gen(function* () {
      const root = yield* scratch
      const { context, file, steps } = setup(root)
      const target = path.join(root, "elsewhere")
      fs.writeFileSync(target, "root's file\n", { mode: 0o644 })
      // The directories exist; between the plan and the step, a link takes the token's name.
      yield* execute({ steps: steps.slice(0, 2), notes: [] }, context)
      fs.symlinkSync(target, file)
      const failed = yield* Effect.flip(execute({ steps: steps.slice(2), notes: [] }, context))
      expect(failed._tag).toBe("InstallFailed")
      expect(failed.message).toContain("it exists already")
      expect(fs.readFileSync(target, "utf8")).toBe("root's file\n")
      const [record] = yield* (yield* TokenStore).list
      expect(record?.revokedAt).not.toBeNull()
    }).pipe(Effect.provide(MemoryTokens.layer))
  )

  it.scoped("a link planted as a directory on the way: refused by name, nothing made through it", () =>
    Effect.gen(function* () {
      const root = yield* scratch
      const { context, dir, steps } = setup(root)
      const elsewhere = path.join(root, "elsewhere")
      fs.mkdirSync(elsewhere)
      fs.mkdirSync(path.dirname(dir), { mode: 0o700 })
      fs.symlinkSync(elsewhere, dir)
      const failed = yield* Effect.flip(execute({ steps: steps.slice(2), notes: [] }, context))
      expect(failed.message).toContain(`${dir} is a symbolic link`)
      expect(fs.readdirSync(elsewhere)).toEqual([])
    }).pipe(Effect.provide(MemoryTokens.layer))
  )
  it.scoped("a token file not checked yet: kept when the store accepts it, else replaced by a rename", () =>
    Effect.gen(function* () {
      const { context, file, steps } = setup(yield* scratch)
      yield* execute({ steps, notes: [] }, context)
      const first = fs.readFileSync(file, "utf8")
      const check: Step = { _tag: "OperatorToken", path: file, operator: me.username, existing: "unchecked" }
      const kept = yield* execute({ steps: [check], notes: [] }, context)
      expect(kept.done).toEqual([`kept ${file}: the server's store accepts the token in it`])
      expect(fs.readFileSync(file, "utf8")).toBe(first)
      yield* (yield* TokenStore).revoke(`operator-${me.username}`)
      const inode = fs.statSync(file).ino
      yield* execute({ steps: [check], notes: [] }, context)
      const second = fs.readFileSync(file, "utf8")
      expect(second).not.toBe(first)
      expect(fs.statSync(file).ino).not.toBe(inode)
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      const record = yield* (yield* TokenStore).authenticate(Either.getOrThrow(Token.parse(second)))
      expect(record.name).toBe(`operator-${me.username}-2`)
      // A token the plan found refused is replaced without asking again.
      yield* execute({ steps: [{ ...check, existing: "refused" }], notes: [] }, context)
      expect(fs.readFileSync(file, "utf8")).not.toBe(second)
    }).pipe(Effect.provide(MemoryTokens.layer))
  )
})
