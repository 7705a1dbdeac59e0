/**
 * The tools' behaviour: thin adapters from decoded arguments to the same `SecretsRepo` the CLI uses, with
 * the principal's permissions checked before the store is touched.
 */
import { Clock, Duration, Effect, Either, Redacted } from "effect"
import * as Principal from "../auth/Principal.js"
import * as QuotaCheck from "../auth/Quota.js"
import { parseDurationText } from "../domain/DurationText.js"
import { InvalidArguments, VersionConflict } from "../domain/errors.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { isoOrNull, toSetSummary, toSummary } from "../domain/Secret.js"
import { expiryOf } from "../domain/writeChecks.js"
import * as Listing from "../repo/listing.js"
import * as Generate from "../run/Generate.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import { approvedGet } from "../approvals/gate.js"
import type { Caller } from "./Caller.js"
import * as EntryPoint from "./EntryPoint.js"
import type * as S from "./schemas.js"

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const getSecret = ({ approvalRequired, principal }: Caller, input: typeof S.GetSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorizeReveal(principal, path.keyPath)
    const { ttlMs } = yield* EntryPoint.current
    const secret = yield* approvedGet(approvalRequired, principal.name, path, ttlMs, input.version)
    return {
      keyPath: secret.keyPath as string,
      value: Redacted.value(secret.value),
      version: secret.version,
      description: secret.description,
      expiresAt: isoOrNull(secret.expiresAt),
      rotationRequired: secret.rotationRequired
    }
  })

/** Without a value: description, expiry and flag only, on an existing secret, as no new version. */
const setMetadata = (caller: Caller, input: typeof S.SetSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(caller.principal, "write", path.keyPath)
    const expiresAt = yield* expiryOf(input.expiresAt, input.expiresIn)
    const repo = yield* SecretsRepo
    if (input.expectedVersion !== undefined) {
      const [current] = yield* repo.list({ keyPaths: [path.keyPath] })
      if (current?.version !== input.expectedVersion) {
        const currentVersion = current?.version ?? 0
        return yield* new VersionConflict({
          keyPath: path.keyPath,
          expectedVersion: input.expectedVersion,
          currentVersion
        })
      }
    }
    const updated = yield* repo.updateMetadata(path, {
      description: input.description,
      expiresAt,
      rotationRequired: input.rotationRequired
    })
    return {
      keyPath: updated.keyPath as string,
      created: false,
      version: updated.version,
      description: updated.description,
      expiresAt: isoOrNull(updated.expiresAt),
      rotationRequired: updated.rotationRequired,
      valueChanged: false
    }
  })

export const setSecret = (caller: Caller, input: typeof S.SetSecretInput.Type) =>
  Effect.gen(function* () {
    if (input.value === undefined) return yield* setMetadata(caller, input)
    const { principal, quota } = caller
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(principal, "write", path.keyPath)
    const expiresAt = yield* expiryOf(input.expiresAt, input.expiresIn)
    const result = yield* (yield* SecretsRepo).set(path, Redacted.make(input.value), {
      description: input.description,
      expiresAt,
      rotationRequired: input.rotationRequired,
      createdBy: principal.name,
      expectedVersion: input.expectedVersion,
      requireExpectedVersion: caller.requireCas,
      overwriteDeleted: input.overwriteDeleted,
      quota: QuotaCheck.limitFor(principal, quota, path.keyPath)
    })
    return { ...toSetSummary(result), valueChanged: true }
  })

/** `7d` as the end of that window from now, or InvalidArguments naming the parameter. */
const windowEnd = (tool: string, field: string, text: string | undefined) =>
  Effect.gen(function* () {
    if (text === undefined) return undefined
    const parsed = parseDurationText(text)
    if (Either.isLeft(parsed)) {
      return yield* new InvalidArguments({ tool, reason: `${field} ${parsed.left}; use a duration such as 7d or 12h` })
    }
    return new Date((yield* now).getTime() + Duration.toMillis(parsed.right))
  })

export const listSecrets = ({ principal }: Caller, input: typeof S.ListSecretsInput.Type) =>
  Effect.gen(function* () {
    yield* Listing.checkFilter("project", input.project)
    yield* Listing.checkFilter("service", input.service)
    const at = yield* now
    const query = {
      scope: input.scope,
      project: input.project,
      service: input.service,
      deleted: input.deleted,
      expired: input.expired,
      rotationRequired: input.rotationRequired,
      expiresBy: yield* windowEnd("list_secrets", "expiringWithin", input.expiringWithin),
      now: at,
      within: Principal.readablePrefixes(principal)
    }
    const page = yield* Listing.page(query, input.limit ?? Listing.DEFAULT_LIMIT, input.cursor)
    const secrets = page.secrets.map((s) => ({
      ...toSummary(s, at),
      revealable: Principal.mayReveal(principal, s.keyPath)
    }))
    return { secrets, nextCursor: page.nextCursor ?? null }
  }).pipe(Effect.catchTag("ListRefused", ({ reason }) => new InvalidArguments({ tool: "list_secrets", reason })))

export const deleteSecret = ({ principal }: Caller, input: typeof S.DeleteSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(principal, "write", path.keyPath)
    const result = yield* (yield* SecretsRepo).delete(path, { deletedBy: principal.name })
    return {
      keyPath: result.keyPath as string,
      deleted: result.deleted,
      restorableUntil: isoOrNull(result.restorableUntil)
    }
  })

/** A random value made and stored here; the caller learns its metadata only, never the value. */
export const generateSecret = (caller: Caller, input: typeof S.GenerateSecretInput.Type) =>
  Effect.gen(function* () {
    const { principal, quota } = caller
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorizeGenerate(principal, path.keyPath, input.overwrite === true)
    const expiresAt = yield* expiryOf(input.expiresAt, input.expiresIn)
    const generated = yield* Generate.generateSecret({
      keyPath: path.keyPath,
      length: input.length,
      charset: input.charset,
      description: input.description,
      expiresAt,
      overwrite: input.overwrite,
      expectedVersion: input.expectedVersion,
      requireExpectedVersion: caller.requireCas,
      createdBy: principal.name,
      quota: QuotaCheck.limitFor(principal, quota, path.keyPath)
    })
    return { ...generated, expiresAt: isoOrNull(generated.expiresAt) }
  })
