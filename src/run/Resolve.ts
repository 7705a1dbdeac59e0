/**
 * The one place `secrets run` and `secrets inject` turn key paths into values, for the principal the CLI acts
 * for (SECRETS_PRINCIPAL): each path needs a grant of `use` or better, and revealing it (`run --no-mask`, `inject`)
 * needs what `get` needs. Nothing else here reads a value.
 *
 * Every path is checked before any value is read: an invalid path, one the principal may not use, or one with
 * nothing stored fails the whole request with no read recorded (permissions first, so a refusal never depends
 * on existence). Each value is then read through `SecretsRepo.get`, which records the read.
 */
import { approved } from "../approvals/gate.js"
import * as Actors from "../audit/Actor.js"
import { Duration, Effect, Either, type Redacted } from "effect"
import * as Principal from "../auth/Principal.js"
import { NotFound, PermissionDenied } from "../domain/errors.js"
import { type KeyPath, parseKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"

export interface ResolvedSecret {
  readonly keyPath: KeyPath
  readonly value: Redacted.Redacted<string>
}

export interface ResolveOptions {
  /** The values will be shown unmasked (`run --no-mask`): each path must be revealable, not only usable. */
  readonly reveal?: boolean | undefined
  /**
   * SECRETS_APPROVAL_REQUIRED, and how long a pending approval lasts: an agent's (not the operator's) use of such
   * a path, or of a secret flagged `--approval-required`, needs a human's approval (approvals/gate.ts), recorded as the fiber's operation (`run`, `inject`).
   */
  readonly approval?: { readonly prefixes: ReadonlyArray<string>; readonly ttlMs: number } | undefined
}

/**
 * The approval gate before `principal` reads `keyPaths` (not the operator's, meta): each under SECRETS_APPROVAL_REQUIRED
 * or flagged `--approval-required` passes only once a human approved it, recorded as the fiber's operation.
 */
export const approvalGate =
  (principal: Principal.Principal, approval: ResolveOptions["approval"]) => (keyPaths: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      if (approval === undefined || principal.name === "meta" || keyPaths.length === 0) return
      const { operation } = yield* Actors.current("run")
      // The approval flags of all the paths in one lookup; each path then passes the gate or is refused.
      const flagged = yield* (yield* SecretsRepo).approvalFlagged(keyPaths)
      yield* Effect.forEach(keyPaths, (keyPath) =>
        approved(approval.prefixes, principal.name, keyPath, operation, approval.ttlMs, flagged.has(keyPath))
      )
    })

/** The values at `keyPaths` for `principal`, once each, in the order first given. */
export const resolveSecrets = (
  principal: Principal.Principal,
  keyPaths: ReadonlyArray<string>,
  options: ResolveOptions = {}
) =>
  Effect.gen(function* () {
    const parsed = yield* Effect.forEach([...new Set(keyPaths)], (keyPath) => parseKeyPath(keyPath))
    yield* Effect.forEach(parsed, (path) =>
      options.reveal === true
        ? Principal.authorizeReveal(principal, path.keyPath)
        : Principal.authorize(principal, "use", path.keyPath)
    )
    const approval = options.approval
    if (parsed.length === 0) return []
    const repo = yield* SecretsRepo
    yield* approvalGate(principal, approval)(parsed.map((p) => p.keyPath))
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

/**
 * The key paths stored below `prefix` (e.g. `project/consilio`), by key path; no value is read. `principal` must
 * have a grant on the whole prefix, so the listing never shows it a path it may not use.
 */
export const keyPathsUnder = (principal: Principal.Principal, prefix: string) =>
  Effect.gen(function* () {
    const base = prefix.replace(/\/+$/, "")
    yield* parseKeyPath(`${base}/x`)
    if (!Principal.may(principal, "use", `${base}/`)) {
      return yield* new PermissionDenied({ principal: principal.name, access: "use", keyPath: `${base}/` })
    }
    const repo = yield* SecretsRepo
    const below = yield* repo.list({ within: [`${base}/`] })
    if (below.length === 0) return yield* new NotFound({ keyPath: `${base}/*` })
    return { base, keyPaths: below.map((s) => s.keyPath as string) }
  })

/** The approval options from the settings: SECRETS_APPROVAL_REQUIRED, pending for SECRETS_REQUEST_TTL. */
export const approvalOf = (settings: {
  readonly approvalRequired: ReadonlyArray<string>
  readonly http: { readonly requestTtl: Duration.Duration }
}): ResolveOptions["approval"] => ({
  prefixes: settings.approvalRequired,
  ttlMs: Duration.toMillis(settings.http.requestTtl)
})
