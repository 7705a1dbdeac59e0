/**
 * Who is acting, for the audit trail: set once where a request enters (the MCP server from the principal and the
 * client's name and version; the CLI as `cli` and the OS user) and read by the store when it records. An
 * operation made of others (`rollback`, `run`, `export`) names itself so its reads and writes are recorded as it.
 */
import { Clock, Context, Effect, FiberRef } from "effect"
import * as os from "node:os"
import type { Operation } from "./Entry.js"

export interface Actor {
  readonly principal: string
  readonly client: string
  /** The bearer token a `secrets server` caller presented: its id and name, recorded beside principal and client. */
  readonly tokenId?: string | undefined
  readonly tokenName?: string | undefined
}

/** A program that embeds the store without saying who it is. */
export const LIBRARY: Actor = { principal: "library", client: "library" }

export const CurrentActor: FiberRef.FiberRef<Actor> = FiberRef.unsafeMake(LIBRARY)

/** The operation to record instead of the store method's own (`run` for its reads). */
export const CurrentOperation: FiberRef.FiberRef<Operation | undefined> = FiberRef.unsafeMake<Operation | undefined>(
  undefined
)

export const withActor =
  (actor: Actor) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.locally(effect, CurrentActor, actor)

export const asOperation =
  (operation: Operation) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.locally(effect, CurrentOperation, operation)

/** The actor, and the operation to record for a method whose own name is `own`. */
export const current = (own: Operation) =>
  Effect.zipWith(FiberRef.get(CurrentActor), FiberRef.get(CurrentOperation), (actor, operation) => ({
    ...actor,
    operation: operation ?? own
  }))

/**
 * `fields` stamped with the actor, the operation to record for a method whose own name is `own`, and the time by
 * the fiber's clock, all read off the fiber in one step: the read path does this for every read.
 */
export const stamp = <F extends object>(own: Operation, fields: F) =>
  Effect.withFiberRuntime<Actor & { readonly operation: Operation; readonly at: Date } & F>((fiber) => {
    const { client, principal, tokenId, tokenName } = fiber.getFiberRef(CurrentActor)
    const operation = fiber.getFiberRef(CurrentOperation) ?? own
    const at = new Date(Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis())
    return Effect.succeed({ principal, client, tokenId, tokenName, operation, at, ...fields })
  })

/**
 * The CLI's actor: the OS user who runs it, as `cli`, or as the principal it acts for (`SECRETS_PRINCIPAL`, when
 * an agent's shell runs `secrets run` for it).
 */
export const cli = (principal = "meta"): Actor => {
  let user = "unknown"
  try {
    user = os.userInfo().username
  } catch {
    /* no passwd entry (some containers) */
  }
  return { principal: principal === "meta" ? "cli" : principal, client: `cli (${user})` }
}
