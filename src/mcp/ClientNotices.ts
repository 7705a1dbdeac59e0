/**
 * What the person behind the MCP client must read (the first run's "back the key file up"): stderr is where the
 * server logs, and the MCP Inspector, like most clients, never shows it. A notice goes to the client as an MCP log
 * notification (`notifications/message`, the `logging` capability) at level `warning`, which clients display,
 * and only once the client has sent `notifications/initialized`: before that the protocol allows no notification
 * but a ping. A notice made before then (the store opens while the handshake runs) waits; stdout carries nothing
 * but protocol either way. A notice never holds a value or a key.
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { Deferred, Effect, Queue, type Scope } from "effect"
import { SERVER_NAME } from "./server.js"

export interface ClientNotices {
  /** Queues a notice for the client. */
  readonly announce: (notice: string) => Effect.Effect<void>
  /**
   * From now on, sends every notice, in order, once the client has initialized, until the scope closes. Call before
   * `server.connect`: it takes the server's `oninitialized`.
   */
  readonly deliver: (server: Server) => Effect.Effect<void, never, Scope.Scope>
}

export const make = Effect.gen(function* () {
  const pending = yield* Queue.unbounded<string>()
  const announce = (notice: string) => Effect.asVoid(Queue.offer(pending, notice))
  const send = (server: Server, notice: string) =>
    // A client that has gone, or asked for fewer messages (`logging/setLevel`), misses it; stderr still has it.
    Effect.ignore(
      Effect.tryPromise(() => server.sendLoggingMessage({ level: "warning", logger: SERVER_NAME, data: notice }))
    )
  const deliver = (server: Server) =>
    Effect.gen(function* () {
      const initialized = yield* Deferred.make<void>()
      server.oninitialized = () => Deferred.unsafeDone(initialized, Effect.void)
      yield* Effect.forkScoped(
        Effect.zipRight(
          Deferred.await(initialized),
          Effect.forever(Effect.flatMap(Queue.take(pending), (notice) => send(server, notice)))
        )
      )
    })
  return { announce, deliver } satisfies ClientNotices
})
