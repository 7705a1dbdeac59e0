/**
 * The one place `secrets run` and `secrets inject` turn key paths into values. Permission checks and a reveal
 * policy wrap `resolveSecrets`, and nothing else here reads a value.
 *
 * Every path is checked before any value is read: an invalid path, or one with nothing stored, fails the whole
 * request with no read recorded. Each value is then read through `SecretsRepo.get`, which records the read.
 */
import { Effect, Either, type Redacted } from "effect"
import { NotFound } from "../domain/errors.js"
import { type KeyPath, parseKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"

export interface ResolvedSecret {
  readonly keyPath: KeyPath
  readonly value: Redacted.Redacted<string>
}

/** The values at `keyPaths`, once each, in the order first given. */
export const resolveSecrets = (keyPaths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const parsed = yield* Effect.forEach([...new Set(keyPaths)], (keyPath) => parseKeyPath(keyPath))
    if (parsed.length === 0) return []
    const repo = yield* SecretsRepo
    const stored = new Set<string>((yield* repo.list({ keyPaths: parsed.map((p) => p.keyPath) })).map((s) => s.keyPath))
    const missing = parsed.find((p) => !stored.has(p.keyPath))
    if (missing !== undefined) return yield* new NotFound({ keyPath: missing.keyPath })
    // Read together, so the store records them in one batch; the first failure in the order given is reported.
    const results = yield* Effect.forEach(parsed, (path) => Effect.either(repo.get(path)), { concurrency: 16 })
    const values: Array<ResolvedSecret> = []
    for (const result of results) {
      if (Either.isLeft(result)) return yield* result.left
      values.push({ keyPath: result.right.keyPath, value: result.right.value })
    }
    return values
  })

/** The key paths stored below `prefix` (e.g. `project/consilio`), by key path; no value is read. */
export const keyPathsUnder = (prefix: string) =>
  Effect.gen(function* () {
    const base = prefix.replace(/\/+$/, "")
    yield* parseKeyPath(`${base}/x`)
    const repo = yield* SecretsRepo
    const below = yield* repo.list({ within: [`${base}/`] })
    if (below.length === 0) return yield* new NotFound({ keyPath: `${base}/*` })
    return { base, keyPaths: below.map((s) => s.keyPath as string) }
  })
