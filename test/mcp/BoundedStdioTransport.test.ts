/**
 * The stdio transport in process, fed bytes directly (`emit("data")` is synchronous, so a throw would reach
 * the test): messages framed by newlines whatever the chunking; an oversized message refused with its own id
 * whatever the order of its keys and whatever its id holds; a line that is not JSON answered with -32700 and
 * one that is not JSON-RPC with -32600; random bytes never make it throw; requests counted until answered.
 */
import { describe, expect, it } from "@effect/vitest"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import * as fc from "fast-check"
import { PassThrough, Writable } from "node:stream"
import { BoundedStdioTransport } from "../../src/mcp/BoundedStdioTransport.js"

interface Answer {
  readonly id: unknown
  readonly error?: { readonly code: number; readonly message: string }
}

const setup = (maxBytes: number) => {
  const stdin = new PassThrough()
  const sent: Array<Answer> = []
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") sent.push(JSON.parse(line) as Answer)
      callback()
    }
  })
  const transport = new BoundedStdioTransport(maxBytes, stdin, stdout)
  const received: Array<JSONRPCMessage> = []
  const errors: Array<Error> = []
  let ended = 0
  transport.onmessage = (m) => void received.push(m)
  transport.onerror = (e) => void errors.push(e)
  transport.onend = () => void ended++
  /** Feeds bytes synchronously, in pieces of `step`. */
  const feed = (data: string | Buffer, step = Infinity) => {
    const bytes = Buffer.from(data)
    for (let i = 0; i < bytes.length; i += step) stdin.emit("data", bytes.subarray(i, i + step))
  }
  return { stdin, transport, received, sent, errors, feed, ended: () => ended }
}

const started = async (maxBytes: number) => {
  const t = setup(maxBytes)
  await t.transport.start()
  return t
}

/** Lets the stdout writes' callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve))

const request = (id: number, extra = "") =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list", params: { pad: extra } }) + "\n"

const permutations = <A>(items: ReadonlyArray<A>): Array<Array<A>> =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((p) => [item, ...p]))

/** A JSON object with its members in exactly this order. */
const objectText = (members: ReadonlyArray<readonly [string, unknown]>) =>
  `{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`

describe("BoundedStdioTransport framing", () => {
  it("delivers messages split across chunks and several per chunk, with CRLF", async () => {
    const { feed, received } = await started(10_000)
    feed(request(1) + request(2).replace("\n", "\r\n") + request(3), 7)
    expect(received.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3])
  })

  it("delivers a last message without its newline when stdin ends, then reports the end once", async () => {
    const { feed, received, stdin, ended } = await started(10_000)
    feed(request(1) + request(2).trimEnd())
    expect(received).toHaveLength(1)
    stdin.emit("end")
    stdin.emit("end")
    expect(received.map((m) => (m as { id: number }).id)).toEqual([1, 2])
    expect(ended()).toBe(1)
  })

  it("reads nothing after stopReading", async () => {
    const { feed, received, transport } = await started(10_000)
    feed(request(1))
    transport.stopReading()
    feed(request(2))
    expect(received).toHaveLength(1)
  })
})

describe("BoundedStdioTransport refusing oversized messages", () => {
  const ids: ReadonlyArray<string | number> = [7, 0, -3, 2 ** 53 - 1, 1.5e3, "abc", "", 'q"uo\\te', "é😀\u2028", "}{,:"]
  const huge = { arguments: { value: "x".repeat(50_000), id: "not-this-one" } }

  it.each(ids.map((id) => [JSON.stringify(id), id] as const))(
    "answers id %s whatever the order of the members, refused with -32600 after streaming",
    async (_, id) => {
      const members = [
        ["jsonrpc", "2.0"],
        ["id", id],
        ["method", "tools/call"],
        ["params", huge]
      ] as const
      for (const order of permutations(members)) {
        const { feed, received, sent } = await started(1_000)
        feed(objectText(order) + "\r\n", 997)
        feed(request(8))
        await settle()
        expect(received.map((m) => (m as { id: number }).id)).toEqual([8])
        expect(sent).toHaveLength(1)
        expect(sent[0]).toMatchObject({ id, error: { code: -32600 } })
        expect(sent[0]!.error!.message).toContain("larger than 1000 bytes")
      }
    }
  )

  it("answers with id null when the id is in the middle, nested only, not a string or number, or invalid", async () => {
    const middle = `{"jsonrpc":"2.0","params":{"a":"${"x".repeat(9_000)}"},"id":5,"method":"m","pad":"${"y".repeat(9_000)}"}`
    const cases = [
      middle,
      objectText([
        ["jsonrpc", "2.0"],
        ["method", "m"],
        ["params", { id: 9, pad: "x".repeat(5_000) }]
      ]),
      objectText([
        ["id", null],
        ["params", "x".repeat(5_000)]
      ]),
      objectText([
        ["id", { n: 1 }],
        ["params", "x".repeat(5_000)]
      ]),
      objectText([
        ["params", "x".repeat(5_000)],
        ["id", true]
      ]),
      `{"jsonrpc":"2.0","id":"\\q","method":"tools/call","params":"${"x".repeat(5_000)}"}`,
      `{"params":"${"x".repeat(5_000)}","method":"m","id":"\\q"}`,
      `{"id":01,"params":"${"x".repeat(5_000)}"}`,
      `{"params":"${"x".repeat(5_000)}","id":1e999}`,
      "y".repeat(5_000)
    ]
    for (const text of cases) {
      const { errors, feed, sent } = await started(1_000)
      expect(() => feed(text + "\n", 1_000)).not.toThrow()
      await settle()
      expect(sent).toEqual([{ jsonrpc: "2.0", id: null, error: expect.objectContaining({ code: -32600 }) }])
      expect(errors).toEqual([])
    }
  })

  it("reads an escaped key and ignores a string that only looks like an id member", async () => {
    const { feed, sent } = await started(100)
    feed(`{"\\u0069d":"esc","params":"${"x".repeat(500)}"}\n`)
    feed(`{"id":"real","params":"${"x".repeat(500)}\\",\\"id\\":\\"fake"}\n`)
    feed(`{"params":"${"x".repeat(500)}\\",\\"id\\":\\"fake","id":"real2"}\n`)
    await settle()
    expect(sent.map((a) => a.id)).toEqual(["esc", "real", "real2"])
  })

  it("answers every oversized request with its own id, from generated requests, orders and chunkings", async () => {
    const id = fc.oneof(fc.integer(), fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 20 }))
    const message = fc.record({
      id,
      order: fc.shuffledSubarray(["jsonrpc", "method", "params"], { minLength: 3 }),
      idAt: fc.nat({ max: 3 }),
      // Often past the 4 KiB kept of each end, so a late id is read from the tail only.
      pad: fc
        .tuple(
          fc.string({ unit: fc.constantFrom("x", '"', "\\", "{", "}", "é", "\n", "id"), maxLength: 40 }),
          fc.nat(12_000)
        )
        .map(([hostile, length]) => `${hostile}${"x".repeat(length)}${hostile}`)
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5_000 }),
        async (messages, step) => {
          const { feed, received, sent } = await started(1_000)
          const lines = messages.map(({ id, order, idAt, pad }) => {
            const values: Record<string, unknown> = { jsonrpc: "2.0", method: "tools/list", params: { pad }, id }
            const keys = [...order.slice(0, idAt), "id", ...order.slice(idAt)]
            return objectText(keys.map((k) => [k, values[k]] as const))
          })
          feed(lines.map((l) => l + "\n").join(""), step)
          await settle()
          const big = messages.filter((_, i) => Buffer.byteLength(lines[i]!) > 1_000).map((m) => m.id)
          const small = messages.filter((_, i) => Buffer.byteLength(lines[i]!) <= 1_000).map((m) => m.id)
          expect(sent.map((a) => a.id)).toEqual(big)
          expect(sent.every((a) => a.error?.code === -32600)).toBe(true)
          expect(received.map((m) => (m as { id: unknown }).id)).toEqual(small)
        }
      ),
      { numRuns: 300 }
    )
  }, 30_000)
})

describe("BoundedStdioTransport answering lines that are not messages", () => {
  it("answers a line that is not JSON with -32700 and id null, and goes on", async () => {
    const { errors, feed, received, sent } = await started(10_000)
    feed('{"jsonrpc":"2.0","id":4,\n')
    feed("not json\n")
    feed(request(5))
    await settle()
    expect(sent).toEqual([
      { jsonrpc: "2.0", id: null, error: expect.objectContaining({ code: -32700 }) },
      { jsonrpc: "2.0", id: null, error: expect.objectContaining({ code: -32700 }) }
    ])
    expect(sent[0]!.error!.message).not.toContain("jsonrpc")
    expect(received.map((m) => (m as { id: number }).id)).toEqual([5])
    expect(errors).toEqual([])
  })

  it("answers JSON that is not a JSON-RPC message with -32600 and its id when it has one", async () => {
    const { feed, received, sent } = await started(10_000)
    feed('{"jsonrpc":"2.0","id":3}\n')
    feed('{"jsonrpc":"1.0","id":"s","method":"m"}\n')
    feed("[1,2]\n42\nnull\n")
    feed('{"jsonrpc":"2.0","id":{"x":1},"method":"m"}\n')
    await settle()
    expect(sent.map((a) => [a.id, a.error?.code])).toEqual([
      [3, -32600],
      ["s", -32600],
      [null, -32600],
      [null, -32600],
      [null, -32600],
      [null, -32600]
    ])
    expect(received).toEqual([])
  })

  it("never throws and answers every oversized line, whatever bytes arrive in whatever pieces", async () => {
    const bytes = fc.uint8Array({ maxLength: 3_000 }).map((a) => Buffer.from(a))
    const jsonish = fc
      .array(fc.constantFrom('{"id":', '"\\q"', '"\\', "1", "}", "{", "[", '"', ",", ":", "\n", "\r", "x", "é"), {
        maxLength: 400
      })
      .map((parts) => Buffer.from(parts.join("")))
    await fc.assert(
      fc.asyncProperty(fc.oneof(bytes, jsonish), fc.integer({ min: 1, max: 700 }), async (input, step) => {
        const { errors, feed, sent, stdin } = await started(200)
        expect(() => {
          feed(input, step)
          stdin.emit("end")
        }).not.toThrow()
        await settle()
        const lines = input.toString("latin1").split("\n")
        const oversized = lines.filter((l) => Buffer.byteLength(l, "latin1") > 200).length
        expect(sent.filter((a) => a.error?.code === -32600 && a.error.message.includes("larger")).length).toBe(
          oversized
        )
        expect(errors).toEqual([])
      }),
      { numRuns: 500 }
    )
  }, 30_000)
})

describe("BoundedStdioTransport counting requests until answered", () => {
  it("drained resolves once every delivered request is answered or cancelled; notifications do not count", async () => {
    const { feed, transport } = await started(10_000)
    await transport.drained()
    feed(request(1) + request(2) + '{"jsonrpc":"2.0","method":"notifications/initialized"}\n' + request(3))
    let drained = false
    void transport.drained().then(() => (drained = true))
    await transport.send({ jsonrpc: "2.0", id: 1, result: {} })
    await transport.send({ jsonrpc: "2.0", id: 3, error: { code: -1, message: "x" } })
    await settle()
    expect(drained).toBe(false)
    feed('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}\n')
    await settle()
    expect(drained).toBe(true)
  })
})

describe("requests with invalid params", () => {
  const call = (id: number, params: string) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}\n`

  it("are refused with -32602 for their id, naming what is wrong without quoting it", async () => {
    const t = await started(1024 * 1024)
    t.feed(call(1, `{"name":"get_secret","arguments":"sk_live_canary"}`))
    t.feed(call(2, `{"arguments":{"keyPath":"meta/x/y"}}`))
    t.feed(`{"jsonrpc":"2.0","id":3,"method":"initialize","params":{}}\n`)
    await settle()
    expect(t.received).toEqual([])
    expect(t.sent.map((a) => [a.id, a.error?.code])).toEqual([
      [1, -32602],
      [2, -32602],
      [3, -32602]
    ])
    expect(t.sent[0]!.error!.message).toMatch(/^Invalid params for tools\/call: params\.arguments is missing or of/)
    expect(t.sent[1]!.error!.message).toContain("params.name")
    expect(JSON.stringify(t.sent)).not.toContain("sk_live_canary")
  })

  it("prompts/get: an argument that is not text, or named __proto__, is refused the same way", async () => {
    const t = await started(1024 * 1024)
    const get = (id: number, params: string) =>
      `{"jsonrpc":"2.0","id":${id},"method":"prompts/get","params":${params}}\n`
    t.feed(get(1, `{"name":"retrieve_secret","arguments":{"keyPath":12345}}`))
    t.feed(get(2, `{"arguments":{}}`))
    t.feed(get(3, `{"name":"retrieve_secret","arguments":{"__proto__":{"keyPath":"meta/a/b"}}}`))
    await settle()
    expect(t.received).toEqual([])
    expect(t.sent.map((a) => [a.id, a.error?.code])).toEqual([
      [1, -32602],
      [2, -32602],
      [3, -32602]
    ])
    expect(t.sent[0]!.error!.message).toBe(
      "Invalid params for prompts/get: params.arguments.keyPath is missing or of the wrong type. prompts/get takes " +
        '{"name": "<prompt>", "arguments": {<argument>: "<text>"}}.'
    )
    expect(t.sent[1]!.error!.message).toContain("params.name")
    expect(t.sent[2]!.error!.message).toBe("Invalid params: __proto__ is not an argument of any prompt.")
    expect(JSON.stringify(t.sent)).not.toContain("12345")
  })

  it("take arguments: null as no arguments", async () => {
    const t = await started(1024 * 1024)
    t.feed(call(1, `{"name":"list_secrets","arguments":null}`))
    await settle()
    expect(t.sent).toEqual([])
    expect(t.received).toEqual([{ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "list_secrets" } }])
  })

  it("refuse an argument named __proto__, which would otherwise be dropped without a word", async () => {
    const t = await started(1024 * 1024)
    t.feed(call(1, `{"name":"list_secrets","arguments":{"__proto__":{"limit":1}}}`))
    await settle()
    expect(t.received).toEqual([])
    expect(t.sent[0]).toMatchObject({ id: 1, error: { code: -32602, message: expect.stringContaining("__proto__") } })
  })
})
