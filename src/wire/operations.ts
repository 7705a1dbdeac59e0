/**
 * What `secrets server` does for each request of a CLI in client mode, as the token's principal: the same functions
 * the CLI runs on its own store (revealSecret, resolveSecrets, keyPathsUnder, listPage) and the MCP tools' handlers
 * (set, delete), so every permission, reveal rule, quota and audit record is the server's and is written once.
 */
import { Duration, Effect, Redacted } from "effect"
import { AuditLog } from "../audit/AuditLog.js"
import { approvedGet } from "../approvals/gate.js"
import * as Actors from "../audit/Actor.js"
import { type Operation, shownEntry } from "../audit/Entry.js"
import * as Principal from "../auth/Principal.js"
import { type DomainError, PermissionDenied } from "../domain/errors.js"
import { type ParsedKeyPath, parseKeyPath } from "../domain/KeyPath.js"
import { type Writer, writerOf } from "../repo/writer.js"
import type { Caller } from "../mcp/Caller.js"
import * as Handlers from "../mcp/handlers.js"
import { listPage } from "./listPage.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import { approvalGate, keyPathsUnder, type ResolveOptions, resolveSecrets } from "../run/Resolve.js"
import { dueQueue } from "../rotation/due.js"
import * as Export from "../transfer/Export.js"
import * as Import from "../transfer/Import.js"
import type { Answer, Failure } from "./envelope.js"
import type { Audit, Request } from "./requests.js"

/** A token's caller on this server. */
export interface RpcCaller extends Caller {
  readonly operator: boolean
  readonly deleteRetention: Duration.Duration
  /** How long an approval asked for waits for the operator (SECRETS_REQUEST_TTL). */
  readonly approvalTtlMs: number
}

/**
 * `secrets get`: the value, if the principal may reveal it, with its metadata; a path under
 * SECRETS_APPROVAL_REQUIRED (or a secret flagged `--approval-required`) needs a human's approval first, as `get_secret` does.
 */
export const revealSecret = (
  principal: Principal.Principal,
  keyPath: string,
  version: number | undefined,
  approval?: ResolveOptions["approval"]
) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(keyPath)
    yield* Principal.authorizeReveal(principal, path.keyPath)
    if (approval === undefined) return yield* (yield* SecretsRepo).get(path, { version })
    return yield* approvedGet(approval.prefixes, principal.name, path, approval.ttlMs, version)
  })

/** A change as the token's principal: `write:` on the path, its quota, recorded as itself. */
const changing = <A, E>(
  caller: RpcCaller,
  keyPath: string,
  body: (repo: SecretsRepo["Type"], path: ParsedKeyPath, as: Writer) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(keyPath)
    const as = writerOf(caller.principal, caller.quota, caller.principal.name)
    yield* as.authorize(path.keyPath)
    return yield* body(yield* SecretsRepo, path, as)
  })

/** The server's SECRETS_APPROVAL_REQUIRED, for a read by any token but an operator's (the human answers, not asks). */
const approvalOf = (caller: RpcCaller): ResolveOptions["approval"] =>
  caller.operator ? undefined : { prefixes: caller.approvalRequired, ttlMs: caller.approvalTtlMs }

/**
 * `secrets audit` for a token: an operator's sees every record; any other sees its own principal's records, on
 * paths it may use (who else touched them is the operator's to see).
 */
const auditFor = (caller: RpcCaller, { _tag, ...filter }: Audit) =>
  Effect.gen(function* () {
    const { principal } = caller
    if (!caller.operator) {
      if (filter.principal !== undefined && filter.principal !== principal.name) {
        return yield* new PermissionDenied({
          principal: principal.name,
          access: "operator",
          keyPath: "secrets audit --principal (another principal's records)"
        })
      }
      if (filter.path !== undefined && !Principal.may(principal, "use", filter.path)) {
        return yield* new PermissionDenied({ principal: principal.name, access: "use", keyPath: filter.path })
      }
    }
    const records = yield* (yield* AuditLog).query(caller.operator ? filter : { ...filter, principal: principal.name })
    return records.map(shownEntry)
  })

const answer = (caller: RpcCaller, request: Request): Effect.Effect<unknown, DomainError, SecretsRepo | AuditLog> => {
  const { principal } = caller
  switch (request._tag) {
    case "WhoAmI":
      return Effect.succeed({ principal: principal.name, operator: caller.operator })
    case "Get":
      return revealSecret(principal, request.keyPath, request.version, approvalOf(caller))
    case "Resolve":
      return resolveSecrets(principal, request.keyPaths, { reveal: request.reveal, approval: approvalOf(caller) }).pipe(
        Actors.asOperation(request.operation)
      )
    case "Under":
      return keyPathsUnder(principal, request.prefix)
    case "Set":
      return Handlers.setSecret(caller, {
        keyPath: request.keyPath,
        value: Redacted.value(request.value),
        description: request.description,
        expiresAt: request.expiresAt,
        expiresIn: request.expiresIn,
        rotationRequired: request.rotationRequired,
        expectedVersion: request.expectedVersion,
        overwriteDeleted: request.overwriteDeleted
      })
    case "List":
      return Effect.map(listPage(principal, request, request.limit, request.cursor), (page) => ({
        secrets: page.secrets,
        nextCursor: page.nextCursor ?? null,
        deleteRetentionMs: Duration.toMillis(caller.deleteRetention)
      }))
    case "Delete":
      return Handlers.deleteSecret(caller, { keyPath: request.keyPath })
    case "Generate":
      return Handlers.generateSecret(caller, {
        keyPath: request.keyPath,
        length: request.length,
        charset: request.charset,
        description: request.description,
        expiresAt: request.expiresAt,
        overwrite: request.overwrite
      })
    case "Metadata":
      // The approval flag guards reads from agents: only an operator token sets or clears it.
      if (request.approvalRequired !== undefined && !caller.operator) {
        return new PermissionDenied({
          principal: principal.name,
          access: "operator",
          keyPath: "secrets flag --approval-required"
        })
      }
      return changing(caller, request.keyPath, (repo, path) =>
        repo.updateMetadata(path, {
          rotationRequired: request.rotationRequired,
          approvalRequired: request.approvalRequired,
          expiresAt: request.expiresAt
        })
      )
    case "Undelete":
      return changing(caller, request.keyPath, (repo, path) => repo.undelete(path))
    case "Rollback":
      return changing(caller, request.keyPath, (repo, path, as) =>
        repo.rollback(path, request.to, {
          by: as.by,
          expectedVersion: request.expectedVersion,
          quota: as.quotaFor(path.keyPath)
        })
      )
    case "Versions":
      return Effect.gen(function* () {
        const path = yield* parseKeyPath(request.keyPath)
        yield* Principal.authorize(principal, "use", path.keyPath)
        return yield* (yield* SecretsRepo).versions(path)
      })
    case "Due":
      return dueQueue({
        within: request.within,
        unused: request.unused,
        prefixes: Principal.readablePrefixes(principal)
      })
    case "Import":
      return Effect.gen(function* () {
        const candidates = yield* Effect.forEach(request.candidates, (c) =>
          Import.candidateOf(c.keyPath, c.value, c.origin)
        )
        const as = writerOf(principal, caller.quota, principal.name)
        return yield* Import.runAs(as, candidates, { dryRun: request.dryRun, overwrite: request.overwrite })
      })
    case "Export":
      return Effect.map(
        Export.toDotenvFor(principal, request.prefix, {
          allowStartupNames: request.allowStartupNames,
          beforeReading: approvalGate(principal, approvalOf(caller))
        }),
        ({ count, text }) => ({ count, text: Redacted.make(text) })
      )
    case "Audit":
      return auditFor(caller, request)
    default:
      // The operator's requests: answered by cli/operatorRpc.ts (handed to the server by secrets server), never here.
      return Effect.dieMessage(`${request._tag} is an operator's request`)
  }
}

/** The operation a refusal of `request` is recorded as, and the key path it names. */
export const refusalOf = (request: Request): { operation: Operation; keyPath: string | null } => {
  switch (request._tag) {
    case "WhoAmI":
    case "List":
      return { operation: "list", keyPath: null }
    case "Get":
      return { operation: "get", keyPath: request.keyPath }
    case "Resolve":
      return { operation: request.operation, keyPath: null }
    case "Under":
      return { operation: "run", keyPath: request.prefix }
    case "Set":
      return { operation: "set", keyPath: request.keyPath }
    case "Delete":
      return { operation: "delete", keyPath: request.keyPath }
    case "Generate":
      return { operation: "generate", keyPath: request.keyPath }
    case "Metadata":
      return { operation: "metadata", keyPath: request.keyPath }
    case "Undelete":
      return { operation: "undelete", keyPath: request.keyPath }
    case "Rollback":
      return { operation: "rollback", keyPath: request.keyPath }
    case "Versions":
      return { operation: "versions", keyPath: request.keyPath }
    case "Due":
    case "Audit":
      return { operation: "list", keyPath: null }
    case "Import":
      return { operation: "import", keyPath: null }
    case "Export":
      return { operation: "export", keyPath: request.prefix }
    case "Destroy":
      return { operation: "destroy", keyPath: request.keyPath }
    case "RotateKey":
      return { operation: "rotate-key", keyPath: null }
    case "TokenCreate":
    case "TokenList":
    case "TokenRevoke":
    case "AuditVerify":
    case "Doctor":
      // No operation of their own: recorded as the refused command's name (the error's keyPath), under list.
      return { operation: "list", keyPath: null }
  }
}

/** The answer to `request` for `caller`: its success, or one of its typed failures. */
export const handle = <R extends Request>(caller: RpcCaller, request: R) =>
  answer(caller, request) as Effect.Effect<Answer<R>, Failure<R>, SecretsRepo | AuditLog>
