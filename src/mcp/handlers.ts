/**
 * The tools' behaviour: thin adapters from decoded arguments to the same `SecretsRepo` the CLI uses, with
 * the principal's permissions checked before the store is touched.
 */
import { Effect, Redacted } from "effect"
import * as Principal from "../auth/Principal.js"
import * as QuotaCheck from "../auth/Quota.js"
import type { Quota } from "../config/Settings.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { isoOrNull, parseExpiresAt, toSummary } from "../domain/Secret.js"
import * as Listing from "../repo/listing.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import type * as S from "./schemas.js"

export const getSecret = (principal: Principal.Principal, input: typeof S.GetSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(principal, "read", path.keyPath)
    const secret = yield* (yield* SecretsRepo).get(path)
    return {
      keyPath: secret.keyPath,
      value: Redacted.value(secret.value),
      description: secret.description,
      expiresAt: isoOrNull(secret.expiresAt)
    }
  })

export const setSecret = (principal: Principal.Principal, quota: Quota, input: typeof S.SetSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(principal, "write", path.keyPath)
    const expiresAt = input.expiresAt === undefined ? undefined : yield* parseExpiresAt(input.expiresAt)
    yield* QuotaCheck.check(principal, quota, path, Buffer.byteLength(input.value, "utf8"))
    return yield* (yield* SecretsRepo).set(path, Redacted.make(input.value), {
      description: input.description,
      expiresAt,
      createdBy: principal.name
    })
  })

export const listSecrets = (principal: Principal.Principal, input: typeof S.ListSecretsInput.Type) =>
  Effect.gen(function* () {
    yield* Listing.checkFilter("list_secrets", "project", input.project)
    yield* Listing.checkFilter("list_secrets", "service", input.service)
    const query = { ...input, within: Principal.readablePrefixes(principal) }
    const { nextCursor, secrets } = yield* Listing.page(
      "list_secrets",
      query,
      input.limit ?? Listing.DEFAULT_LIMIT,
      input.cursor
    )
    return { secrets: secrets.map(toSummary), nextCursor: nextCursor ?? null }
  })

export const deleteSecret = (principal: Principal.Principal, input: typeof S.DeleteSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(principal, "write", path.keyPath)
    return yield* (yield* SecretsRepo).delete(path)
  })
