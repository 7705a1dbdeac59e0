/**
 * Message size over real stdio: a 64 KiB value works; a 100 MB JSON-RPC message is refused with an error for
 * its id while the server's memory stays bounded, and the session goes on.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { KEY_A } from "../support/keys.js"
import { tempDir } from "../support/stores.js"

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url))

/** Resident memory now (not the peak, which start-up would set and which would hide any growth). */
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024

it.scopedLive(
  "a 64 KiB value is stored; a 100 MB message is refused with bounded memory and the server keeps answering",
  () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const child = spawn(process.execPath, [CLI, "serve"], {
        env: {
          PATH: process.env["PATH"] ?? "",
          SECRETS_DATA_DIR: path.join(dir, "data"),
          SECRETS_ENCRYPTION_KEY: KEY_A
        },
        stdio: ["pipe", "pipe", "ignore"]
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      const responses = new Map<number, { result?: unknown; error?: { code: number; message: string } }>()
      let buffered = ""
      child.stdout!.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8")
        for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
          const message = JSON.parse(buffered.slice(0, nl)) as { id: number; result?: unknown }
          responses.set(message.id, message as never)
          buffered = buffered.slice(nl + 1)
        }
      })
      const send = (message: object) =>
        new Promise<void>((resolve) => {
          if (child.stdin!.write(JSON.stringify(message) + "\n")) resolve()
          else child.stdin!.once("drain", () => resolve())
        })
      const reply = (id: number) =>
        Effect.promise(async () => {
          const deadline = Date.now() + 60_000
          while (!responses.has(id)) {
            if (Date.now() > deadline) throw new Error(`no reply to ${id}`)
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          return responses.get(id)!
        })

      yield* Effect.promise(() =>
        send({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "big", version: "0" } }
        })
      )
      yield* reply(1)
      yield* Effect.promise(() => send({ jsonrpc: "2.0", method: "notifications/initialized" }))
      const value = "v".repeat(64 * 1024)
      yield* Effect.promise(() =>
        send({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "set_secret", arguments: { keyPath: "meta/big/max", value } }
        })
      )
      expect((yield* reply(2)).result).toMatchObject({ structuredContent: { keyPath: "meta/big/max", created: true } })

      // 100 MB in one JSON-RPC line, written in 1 MB pieces. (The embedded store itself takes a few hundred
      // MB, so what is measured is the growth while the message streams past.)
      const before = rssMb(child.pid!)
      const head = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"set_secret","arguments":{"keyPath":"meta/big/huge","value":"`
      yield* Effect.promise(async () => {
        await new Promise<void>((resolve) => child.stdin!.write(head, () => resolve()))
        const piece = "x".repeat(1024 * 1024)
        for (let i = 0; i < 100; i++) {
          if (!child.stdin!.write(piece)) await new Promise((resolve) => child.stdin!.once("drain", resolve))
        }
        await new Promise<void>((resolve) => child.stdin!.write(`"}}}\n`, () => resolve()))
      })
      const refused = yield* reply(3)
      expect(refused.error?.code).toBe(-32600)
      expect(refused.error?.message).toContain("larger than")
      expect(rssMb(child.pid!) - before).toBeLessThan(64)

      yield* Effect.promise(() =>
        send({
          jsonrpc: "2.0",
          id: 4,
          method: "tools/call",
          params: { name: "get_secret", arguments: { keyPath: "meta/big/max" } }
        })
      )
      const got = (yield* reply(4)).result as { structuredContent: { value: string } }
      expect(got.structuredContent.value).toBe(value)
    }),
  180_000
)
