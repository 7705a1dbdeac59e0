/**
 * The open MCP sessions: each bound to the token that opened it (its id with another token is "not found", as an
 * unknown one is), ended by DELETE, by idle expiry, or to make room.
 *
 * At the limit (SECRETS_SERVER_MAX_SESSIONS) a new session takes the place of the least recently used idle session
 * of the token that holds the most sessions. A client that opens sessions in a loop and abandons them therefore
 * soon holds the most and ends only its own; other tokens' sessions stay, however long they idle. When every
 * session of every token is busy (a request in flight, or an open stream), there is no room: 503.
 */
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { randomBytes } from "node:crypto"

export interface Session {
  readonly id: string
  readonly tokenId: string
  readonly transport: StreamableHTTPServerTransport
  readonly server: Server
  lastActive: number
  /** Requests in progress, an open SSE stream included: a busy session is neither idle nor evicted. */
  busy: number
}

/** 256 random bits, base64url: visible ASCII, as the specification asks of session ids. */
export const newSessionId = (): string => randomBytes(32).toString("base64url")

export class Sessions {
  private readonly open = new Map<string, Session>()
  /** Per token, its sessions, least recently used first (re-inserted when used). */
  private readonly byToken = new Map<string, Map<string, Session>>()
  /** Sessions being opened (an initialize in flight): they count toward the limit. */
  private pending = 0

  constructor(
    private readonly max: number,
    private readonly idleMs: number,
    private readonly now: () => number,
    private readonly onEnd: (session: Session, why: "idle" | "evicted" | "shutdown") => void
  ) {}

  get size(): number {
    return this.open.size
  }

  /** The session `id` when `tokenId` opened it; undefined for an unknown id and for another token's alike. */
  get(id: string, tokenId: string): Session | undefined {
    const session = this.open.get(id)
    return session === undefined || session.tokenId !== tokenId ? undefined : session
  }

  /** Marks a request starting on `session`; `done` when it ends. */
  use(session: Session): () => void {
    session.busy++
    session.lastActive = this.now()
    const own = this.byToken.get(session.tokenId)
    own?.delete(session.id)
    own?.set(session.id, session)
    return () => {
      session.busy--
      session.lastActive = this.now()
    }
  }

  /** Room for one more session, made by eviction if need be; false when there is none. Then `add` or `release`. */
  reserve(): boolean {
    if (this.open.size + this.pending >= this.max && !this.evictOne()) return false
    this.pending++
    return true
  }

  release(): void {
    this.pending = Math.max(0, this.pending - 1)
  }

  add(session: Session): void {
    this.release()
    this.open.set(session.id, session)
    const own = this.byToken.get(session.tokenId) ?? new Map<string, Session>()
    own.set(session.id, session)
    this.byToken.set(session.tokenId, own)
  }

  /** Forgets a session (its transport closed: DELETE, or an end below). */
  remove(id: string): void {
    const session = this.open.get(id)
    if (session === undefined) return
    this.open.delete(id)
    const own = this.byToken.get(session.tokenId)
    own?.delete(id)
    if (own?.size === 0) this.byToken.delete(session.tokenId)
  }

  private end(session: Session, why: "idle" | "evicted" | "shutdown"): void {
    this.remove(session.id)
    this.onEnd(session, why)
  }

  /** Ends the least recently used idle session of the largest holder that has one. */
  private evictOne(): boolean {
    const holders = [...this.byToken.values()].sort((a, b) => b.size - a.size)
    for (const own of holders) {
      for (const session of own.values()) {
        if (session.busy === 0) {
          this.end(session, "evicted")
          return true
        }
      }
    }
    return false
  }

  /** Ends every session idle for longer than the idle time. */
  sweep(): number {
    const before = this.now() - this.idleMs
    const idle = [...this.open.values()].filter((s) => s.busy === 0 && s.lastActive <= before)
    for (const session of idle) this.end(session, "idle")
    return idle.length
  }

  endAll(): void {
    for (const session of [...this.open.values()]) this.end(session, "shutdown")
  }
}
