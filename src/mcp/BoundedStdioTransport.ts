/**
 * MCP over stdio with a ceiling on message size, and an answer for every line. The SDK's transport buffers a
 * line until it ends and closes the whole session when the buffer passes its limit; this one refuses only the
 * oversized message, with a JSON-RPC error for its id, and goes on serving. It discards that message as it
 * streams past, keeping only its first and last bytes to read the id from (messageId.ts): the official SDK
 * client writes `id` last. A line that is not JSON gets -32700 (id null) and JSON that is not a JSON-RPC
 * message gets -32600 (JSON-RPC 2.0, section 5.1), and a request with invalid params -32602 (requestParams.ts);
 * no input makes it throw.
 *
 * It also counts the requests it has delivered and not yet answered, so `serve` can stop reading and let
 * them finish (`stopReading`, `drained`) before it closes the session.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { isJSONRPCRequest, type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js"
import { idOfOversized, type MessageId } from "./messageId.js"
import { INVALID_PARAMS, paramsProblem, withoutNullArguments } from "./requestParams.js"

/** Default ceiling: a 64 KiB value escaped as JSON stays far below it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
/** Kept of each end of an oversized message, to find its id. */
const END_BYTES = 4096
const PARSE_ERROR = -32700
const INVALID_REQUEST = -32600

/** The last `max` bytes of `chunks`, copying at most that many. */
const lastBytes = (chunks: ReadonlyArray<Buffer>, max: number): Buffer => {
  const kept: Array<Buffer> = []
  let size = 0
  for (let i = chunks.length - 1; i >= 0 && size < max; i--) {
    const chunk = chunks[i]!
    kept.unshift(chunk.subarray(Math.max(0, chunk.length - (max - size))))
    size += kept[0]!.length
  }
  return Buffer.concat(kept)
}

const pendingKey = (id: MessageId) => `${typeof id}:${id}`

/** The `id` of parsed JSON that is not a valid message, when it has a usable one. */
const idOf = (value: unknown): MessageId | null => {
  const id =
    typeof value === "object" && value !== null && !Array.isArray(value) ? (value as { id?: unknown }).id : null
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id)) ? id : null
}

export class BoundedStdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  /** stdin ended (or failed): no more requests will come. */
  onend?: (() => void) | undefined

  private chunks: Array<Buffer> = []
  private size = 0
  /** While an oversized message streams past: its first and last bytes. */
  private discarding: { head: Buffer; tail: Buffer } | undefined
  private reading = false
  /** Requests delivered and not yet answered, by id (a client may reuse one). */
  private readonly pending = new Map<string, number>()
  private readonly whenDrained: Array<() => void> = []

  constructor(
    private readonly maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout
  ) {}

  async start(): Promise<void> {
    this.reading = true
    this.stdin.on("data", this.onData)
    this.stdin.on("end", this.onEnd)
    this.stdin.on("error", this.onStreamError)
    this.stdout.on("error", this.onStreamError)
  }

  /** Stops taking requests: what arrives from now on is not read. */
  stopReading(): void {
    if (!this.reading) return
    this.reading = false
    this.stdin.off("data", this.onData)
    this.stdin.off("end", this.onEnd)
    this.stdin.pause()
    this.chunks = []
    this.discarding = undefined
  }

  /** Resolves once every request delivered so far has been answered (or cancelled by the client). */
  drained(): Promise<void> {
    return this.pending.size === 0 ? Promise.resolve() : new Promise((resolve) => this.whenDrained.push(resolve))
  }

  async close(): Promise<void> {
    this.stopReading()
    this.stdin.off("error", this.onStreamError)
    this.onclose?.()
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.write(message).then(() => {
      // Counted as answered once written, so an exit after `drained` cannot cut the answer off.
      if (!("method" in message) && "id" in message) this.settle(message.id as MessageId)
    })
  }

  private write(message: unknown): Promise<void> {
    return new Promise((resolve) => void this.stdout.write(`${JSON.stringify(message)}\n`, () => resolve()))
  }

  private settle(id: MessageId) {
    const key = pendingKey(id)
    const count = this.pending.get(key)
    if (count === undefined) return
    if (count > 1) this.pending.set(key, count - 1)
    else this.pending.delete(key)
    if (this.pending.size === 0) this.whenDrained.splice(0).forEach((resolve) => resolve())
  }

  private readonly onStreamError = (error: Error) => {
    this.onerror?.(error)
    this.onEnd()
  }

  private readonly onEnd = () => {
    // A last message without its newline is still a message.
    if (this.reading && (this.size > 0 || this.discarding !== undefined)) this.endLine()
    this.stopReading()
    const onend = this.onend
    this.onend = undefined
    onend?.()
  }

  private readonly onData = (chunk: Buffer) => {
    let start = 0
    while (this.reading && start <= chunk.length) {
      const newline = chunk.indexOf(0x0a, start)
      const piece = chunk.subarray(start, newline === -1 ? chunk.length : newline)
      if (this.discarding !== undefined) {
        const { head, tail } = this.discarding
        this.discarding = {
          head:
            head.length < END_BYTES
              ? Buffer.concat([head, piece], Math.min(END_BYTES, head.length + piece.length))
              : head,
          tail: lastBytes([tail, piece], END_BYTES)
        }
      } else if (this.size + piece.length > this.maxBytes) {
        const all = [...this.chunks, piece]
        this.discarding = {
          head: Buffer.concat(all, Math.min(END_BYTES, this.size + piece.length)),
          tail: lastBytes(all, END_BYTES)
        }
        this.chunks = []
        this.size = 0
      } else if (piece.length > 0) {
        this.chunks.push(piece)
        this.size += piece.length
      }
      if (newline === -1) return
      this.endLine()
      start = newline + 1
    }
  }

  private endLine() {
    const discarded = this.discarding
    const line = Buffer.concat(this.chunks)
    this.discarding = undefined
    this.chunks = []
    this.size = 0
    if (discarded !== undefined) {
      const id = idOfOversized(discarded.head, discarded.tail) ?? null
      this.reply(
        id,
        INVALID_REQUEST,
        `Message refused: larger than ${this.maxBytes} bytes. Secret values are at most 64 KiB.`
      )
    } else this.deliver(line.toString("utf8").replace(/\r$/, ""))
  }

  private deliver(text: string) {
    if (text.trim() === "") return
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return this.reply(
        null,
        PARSE_ERROR,
        "Parse error: a line on stdin is not JSON. Send one JSON-RPC message per line."
      )
    }
    const parsed = JSONRPCMessageSchema.safeParse(json)
    if (!parsed.success) {
      return this.reply(
        idOf(json),
        INVALID_REQUEST,
        "Invalid Request: not a JSON-RPC 2.0 request, notification or response."
      )
    }
    const message = isJSONRPCRequest(parsed.data) ? withoutNullArguments(parsed.data) : parsed.data
    if (isJSONRPCRequest(message)) {
      const problem = paramsProblem(message)
      if (problem !== undefined) return this.reply(message.id, INVALID_PARAMS, problem)
      const key = pendingKey(message.id)
      this.pending.set(key, (this.pending.get(key) ?? 0) + 1)
    } else if ("method" in message && message.method === "notifications/cancelled") {
      // The SDK never answers a request the client cancelled.
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId
      if (typeof id === "string" || typeof id === "number") this.settle(id)
    }
    try {
      this.onmessage?.(message)
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error("a message handler failed"))
    }
  }

  private reply(id: MessageId | null, code: number, message: string) {
    // Not through `send`: this answers a line that was never delivered, so it settles nothing.
    void this.write({ jsonrpc: "2.0", id, error: { code, message } })
  }
}
