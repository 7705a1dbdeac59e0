import { describe, expect, it } from "@effect/vitest"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { PassThrough } from "node:stream"
import { BoundedStdioTransport } from "../../src/mcp/BoundedStdioTransport.js"

const setup = (maxBytes: number) => {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const transport = new BoundedStdioTransport(maxBytes, stdin, stdout)
  const received: Array<JSONRPCMessage> = []
  const sent: Array<string> = []
  transport.onmessage = (m) => void received.push(m)
  stdout.on("data", (chunk: Buffer) =>
    sent.push(
      ...chunk
        .toString("utf8")
        .split("\n")
        .filter((l) => l !== "")
    )
  )
  return { stdin, transport, received, sent }
}

const request = (id: number, extra = "") =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list", params: { pad: extra } }) + "\n"

describe("BoundedStdioTransport", () => {
  it("delivers messages split across chunks and several per chunk, with CRLF", async () => {
    const { received, stdin, transport } = setup(10_000)
    await transport.start()
    const text = request(1) + request(2).replace("\n", "\r\n") + request(3)
    for (let i = 0; i < text.length; i += 7) stdin.write(Buffer.from(text.slice(i, i + 7)))
    await new Promise((resolve) => setImmediate(resolve))
    expect(received.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3])
  })

  it("refuses an oversized message with an error for its id, streamed in pieces, and goes on", async () => {
    const { received, sent, stdin, transport } = setup(1_000)
    await transport.start()
    stdin.write(request(1))
    const big = request(7, "x".repeat(50_000))
    for (let i = 0; i < big.length; i += 999) stdin.write(big.slice(i, i + 999))
    stdin.write(request(8))
    await new Promise((resolve) => setImmediate(resolve))
    expect(received.map((m) => (m as { id: number }).id)).toEqual([1, 8])
    expect(sent).toHaveLength(1)
    const error = JSON.parse(sent[0]!) as { id: number; error: { code: number; message: string } }
    expect(error.id).toBe(7)
    expect(error.error.code).toBe(-32600)
    expect(error.error.message).toContain("larger than 1000 bytes")
  })

  it("answers with a null id when the oversized message's id cannot be read", async () => {
    const { sent, stdin, transport } = setup(100)
    await transport.start()
    stdin.write("y".repeat(5_000) + "\n")
    await new Promise((resolve) => setImmediate(resolve))
    expect(JSON.parse(sent[0]!).id).toBeNull()
  })
})
