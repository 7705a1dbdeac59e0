/**
 * `request_secret` and `request_status`: the agent asks for a value it never sees. The request is made (the
 * principal must be allowed to write the path now), recorded, and offered to the human as a one-time page and a
 * terminal command; the client is asked to show the page when it can. The agent then reads the status, never the
 * value.
 */
import { Effect, Option } from "effect"
import * as Actors from "../audit/Actor.js"
import * as Principal from "../auth/Principal.js"
import { StoreUnavailable } from "../domain/errors.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { RequestNotFound } from "../domain/errors/requests.js"
import { expiryOf } from "../domain/writeChecks.js"
import { recordOutcome } from "../requests/provide.js"
import { isRequestId, RequestStore, type SecretRequest } from "../requests/RequestStore.js"
import type { Caller } from "./Caller.js"
import * as EntryPoint from "./EntryPoint.js"
import type * as S from "./requestSchemas.js"

const requestStore = Effect.flatMap(
  Effect.serviceOption(RequestStore),
  Option.match({
    onNone: () => Effect.fail(new StoreUnavailable({ reason: "this store keeps no requests for secrets" })),
    onSome: Effect.succeed
  })
)

export const requestSecret = ({ principal }: Caller, input: typeof S.RequestSecretInput.Type) =>
  Effect.gen(function* () {
    const path = yield* parseKeyPath(input.keyPath)
    yield* Principal.authorize(principal, "write", path.keyPath)
    // Checked now, so a wrong duration is the agent's to fix rather than the human's surprise.
    yield* expiryOf(undefined, input.expiresIn)
    const entry = yield* EntryPoint.current
    const actor = yield* Actors.current("request")
    const request = yield* (yield* requestStore)
      .create({
        keyPath: path.keyPath,
        description: input.description ?? null,
        principal: principal.name,
        tokenId: entry.tokenId,
        client: actor.client,
        secretExpiresIn: input.expiresIn ?? null,
        rotationRequired: input.rotationRequired ?? false,
        ttlMs: entry.ttlMs
      })
      .pipe(recordOutcome("request", path.keyPath))
    const url = entry.pageUrl(request.id)
    if (url !== null) {
      entry.elicit({
        url,
        id: request.id,
        message: `${principal.name} asks for the secret ${request.keyPath}. Open the page to type it in.`
      })
    }
    return {
      id: request.id,
      keyPath: request.keyPath,
      status: request.status,
      expiresAt: request.expiresAt.toISOString(),
      url,
      command: `secrets provide ${request.id}`
    }
  })

/** Only the principal that asked may see a request; to anyone else it does not exist. */
const ownRequest = (principal: Principal.Principal, id: string) =>
  Effect.gen(function* () {
    if (!isRequestId(id)) return yield* new RequestNotFound({ id })
    const request: SecretRequest = yield* (yield* requestStore).get(id)
    if (request.principal !== principal.name) return yield* new RequestNotFound({ id })
    return request
  })

export const requestStatus = ({ principal }: Caller, input: typeof S.RequestStatusInput.Type) =>
  Effect.map(ownRequest(principal, input.id), (request) => ({
    id: request.id,
    keyPath: request.keyPath,
    status: request.status,
    expiresAt: request.expiresAt.toISOString(),
    providedAt: request.providedAt?.toISOString() ?? null
  }))
