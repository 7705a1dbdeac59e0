/**
 * MCP over stdio with a ceiling on message size. The SDK's transport buffers a line until it ends and closes
 * the whole session when the buffer passes its limit; this one refuses only the oversized message (with a
 * JSON-RPC error for its id, when the id can be read from its first bytes), discards it as it streams past
 * without holding it, and goes on serving. Memory stays bounded by the limit whatever a client sends.
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js"

/** Default ceiling: a 64 KiB value escaped as JSON stays far below it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const HEAD_BYTES = 4096
const INVALID_REQUEST = -32600

export class BoundedStdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void

  private chunks: Array<Buffer> = []
  private size = 0
  /** While an oversized message streams past: its first bytes, kept to find its id. */
  private discarding: Buffer | undefined

  constructor(
    private readonly maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout
  ) {}

  async start(): Promise<void> {
    this.stdin.on("data", this.onData)
    this.stdin.on("error", this.onStreamError)
  }

  async close(): Promise<void> {
    this.stdin.off("data", this.onData)
    this.stdin.off("error", this.onStreamError)
    this.chunks = []
    this.onclose?.()
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve()
      else this.stdout.once("drain", resolve)
    })
  }

  private readonly onStreamError = (error: Error) => this.onerror?.(error)

  private readonly onData = (chunk: Buffer) => {
    let start = 0
    while (start <= chunk.length) {
      const newline = chunk.indexOf(0x0a, start)
      const piece = chunk.subarray(start, newline === -1 ? chunk.length : newline)
      if (this.discarding !== undefined) {
        if (this.discarding.length < HEAD_BYTES) {
          this.discarding = Buffer.concat([this.discarding, piece.subarray(0, HEAD_BYTES - this.discarding.length)])
        }
      } else if (this.size + piece.length > this.maxBytes) {
        this.discarding = Buffer.concat([...this.chunks, piece]).subarray(0, HEAD_BYTES)
        this.chunks = []
        this.size = 0
      } else if (piece.length > 0) {
        this.chunks.push(piece)
        this.size += piece.length
      }
      if (newline === -1) return
      if (this.discarding !== undefined) this.refuse(this.discarding)
      else this.deliver(Buffer.concat(this.chunks).toString("utf8"))
      this.discarding = undefined
      this.chunks = []
      this.size = 0
      start = newline + 1
    }
  }

  private deliver(line: string) {
    const text = line.replace(/\r$/, "")
    if (text.trim() === "") return
    try {
      this.onmessage?.(JSONRPCMessageSchema.parse(JSON.parse(text)))
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error("unreadable message"))
    }
  }

  private refuse(head: Buffer) {
    const match = /"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,16})/.exec(head.toString("utf8"))
    const id = match === null ? null : (JSON.parse(match[1]!) as string | number)
    const message = `Message refused: larger than ${this.maxBytes} bytes. Secret values are at most 64 KiB.`
    void this.send({ jsonrpc: "2.0", id, error: { code: INVALID_REQUEST, message } } as unknown as JSONRPCMessage)
  }
}
