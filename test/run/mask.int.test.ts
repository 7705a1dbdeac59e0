/**
 * Masking through a real `secrets run` and a real child: every encoded form of two values written in pieces
 * with delays between them, on stdout and stderr; the short-value warning once; `--no-mask`; and 20 MB and
 * 200 MB of output with `run`'s memory flat (read from /proc while it streams).
 */
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { expectOk } from "../cli/harness.js"
import { formsOf, formText } from "../../src/run/Forms.js"
import { keyPathOf, openSeededStore, type RunSandbox, type SeededStore, VALUES } from "./store.js"

const TIMEOUT = 180_000
const NODE = process.execPath

let store: SeededStore
beforeAll(async () => {
  store = await openSeededStore()
}, TIMEOUT)
afterAll(() => store?.close())

const token = (name: keyof typeof VALUES) => `<redacted:${keyPathOf(name)}>`

/** Prints each form of $A and $B on its own line, each line cut in three writes 15 ms apart, on both streams. */
const FORMS_SCRIPT = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const forms = (v) => {
  const b = Buffer.from(v)
  return {
    raw: v, base64: b.toString("base64"), base64url: b.toString("base64url"), hex: b.toString("hex"),
    HEX: b.toString("hex").toUpperCase(), uri: encodeURIComponent(v),
    form: new URLSearchParams({ v }).toString().slice(2), json: JSON.stringify(v).slice(1, -1),
    basic: "Basic " + Buffer.from("user:" + v).toString("base64"),
    blob: Buffer.concat([Buffer.from("xy"), b, Buffer.from("z")]).toString("base64url")
  }
}
const write = (stream, text) => new Promise((r) => stream.write(text, r))
;(async () => {
  for (const name of ["A", "B"]) {
    for (const [form, text] of Object.entries(forms(process.env[name]))) {
      const line = name + "." + form + "=" + text + "\\n"
      const cuts = [Math.floor(line.length / 3), Math.floor((2 * line.length) / 3)]
      for (const [from, to] of [[0, cuts[0]], [cuts[0], cuts[1]], [cuts[1], line.length]]) {
        await write(process.stdout, line.slice(from, to))
        await write(process.stderr, line.slice(from, to))
        await sleep(15)
      }
    }
  }
  console.log("pin=" + process.env.P)
})()`

const FORM_NAMES = ["raw", "base64", "base64url", "hex", "HEX", "uri", "form", "json", "basic", "blob"]

describe.concurrent("secrets run: masking", () => {
  test(
    "every encoded form is masked on stdout and stderr, though written in pieces; a short value warned once, though two names inject it",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const result = await box.run([
        "run",
        "--env",
        `A=${keyPathOf("PASSWORD")}`,
        "--env",
        `B=${keyPathOf("SA_JSON")}`,
        "--env",
        `P=${keyPathOf("PIN")}`,
        "--env",
        `Q=${keyPathOf("PIN")}`,
        "--",
        NODE,
        "-e",
        FORMS_SCRIPT
      ])
      expect(result.code, result.stderr).toBe(0)
      const lines = result.stdout.trimEnd().split("\n")
      expect(lines).toHaveLength(2 * FORM_NAMES.length + 1)
      for (const [i, line] of lines.slice(0, -1).entries()) {
        const [variable, form] = [i < FORM_NAMES.length ? "A" : "B", FORM_NAMES[i % FORM_NAMES.length]]
        const name = variable === "A" ? "PASSWORD" : "SA_JSON"
        if (form === "raw" || form === "json" || form === "hex" || form === "HEX" || form === "uri") {
          expect(line).toBe(`${variable}.${form}=${token(name)}`)
        } else {
          // base64: what encodes "user:" or other bytes around the value stays, and a boundary character or two.
          expect(line).toMatch(new RegExp(`^${variable}\\.${form}=(Basic )?[\\w+/-]*${token(name)}[\\w+/=-]{0,4}$`))
        }
      }
      // The PIN is too short to mask: printed as is, and said once (P and Q both inject it).
      expect(lines.at(-1)).toBe(`pin=${VALUES.PIN}`)
      const warnings = result.stderr.split("\n").filter((l) => l.startsWith("warning:"))
      expect(warnings).toEqual([`warning: not masking ${keyPathOf("PIN")}: values shorter than 6 characters`])
      for (const form of [...formsOf(VALUES.PASSWORD), ...formsOf(VALUES.SA_JSON)].map(formText)) {
        expect(result.stdoutBytes.indexOf(form)).toBe(-1)
        expect(Buffer.from(result.stderr).indexOf(form)).toBe(-1)
      }
      expect(result.stderr).toContain(`A.raw=${token("PASSWORD")}`)
    },
    TIMEOUT
  )

  test(
    "--no-mask passes output through as the child wrote it",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const result = await box.run([
        "run",
        "--env",
        `A=${keyPathOf("API_KEY")}`,
        "--no-mask",
        "--",
        "sh",
        "-c",
        'echo "$A"'
      ])
      expect(result.code).toBe(0)
      expect(result.stdout).toBe(`${VALUES.API_KEY}\n`)
    },
    TIMEOUT
  )
})

/** Prints the value of $X the ways issue 19 found it printed unmasked; PORT is a local HTTP server for `curl -v`. */
const ACCIDENTS = String.raw`
v="$(printf %s "$X")"
echo "trimmed=$v"
python3 -c 'import json, os; print(json.dumps({"token": os.environ["X"].strip()}))'
curl -sv -o /dev/null -H "Authorization: Bearer $v" "http://127.0.0.1:$PORT/" 2>&1 | grep '^> Authorization'
( set -x; : "$v" ) 2>&1
printf 'password=%s\n' "$v" | xxd
`

describe.concurrent("secrets run: a value printed by accident", () => {
  test(
    "imported from an editor-saved file (trailing newline): $(...), .strip() in JSON, curl -v, set -x and xxd show no piece of it",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const value = "s3cr'et-Tok3n_0123456789abcdef"
      const file = path.join(box.root, "token.txt")
      fs.writeFileSync(file, `${value}\n`)
      expectOk(await box.run(["import", "file", file, "project/runtest/imported_token"]))
      const server = http.createServer((_, response) => response.end("ok")).listen(0, "127.0.0.1")
      onTestFinished(() => void server.close())
      await new Promise((resolve) => server.once("listening", resolve))
      const port = String((server.address() as AddressInfo).port)
      const args = ["run", "--env", "X=project/runtest/imported_token", "--", "bash", "-c", ACCIDENTS]
      const plain = await box.run([...args.slice(0, 3), "--no-mask", ...args.slice(3)], { env: { PORT: port } })
      // Unmasked, each line really holds the value (trimmed, quoted, in a dump): the check below means something.
      expect(plain.stdout).toContain(`trimmed=${value}\n`)
      expect(plain.stdout).toContain(`> Authorization: Bearer ${value}`)
      expect(plain.stdout).toContain(`+ : 's3cr'\\''et-Tok3n_0123456789abcdef'`)
      const result = await box.run(args, { env: { PORT: port } })
      expect(result.code, result.stderr).toBe(0)
      const T = "<redacted:project/runtest/imported_token>"
      const lines = result.stdout.split("\n")
      // curl ends its header lines with CR; the line end after a value is not masked with it.
      expect(lines.slice(0, 4)).toEqual([
        `trimmed=${T}`,
        `{"token": "${T}"}`,
        `> Authorization: Bearer ${T}\r`,
        `+ : '${T}'`
      ])
      const ascii = lines
        .slice(4)
        .map((line) => line.slice(51))
        .join("\n")
      expect(ascii).toContain(T)
      for (let at = 0; at + 6 <= value.length; at++) expect(ascii).not.toContain(value.slice(at, at + 6))
    },
    TIMEOUT
  )
})

/** Writes `mb` MB of log lines with $K every MB, cut in two writes; says on stderr how many it wrote. */
const PRODUCER = `
const total = Number(process.argv[1]) * 1048576, value = process.env.K
const block = Buffer.from("2026-11-30T12:00:00Z INFO request handled path=/api/v1/items status=200\\n".repeat(900))
let written = 0, inserted = 0
const write = () => {
  while (written < total) {
    let ok = process.stdout.write(block)
    written += block.length
    if (written >= (inserted + 1) * 1048576) {
      process.stdout.write("key=" + value.slice(0, 9))
      ok = process.stdout.write(value.slice(9) + "\\n")
      inserted++
    }
    if (!ok) return process.stdout.once("drain", write)
  }
  process.stderr.write("inserted " + inserted + "\\n")
}
write()`

interface Streamed {
  readonly code: number | null
  readonly bytes: number
  readonly tokens: number
  readonly leaked: boolean
  readonly inserted: number
  /** [MB streamed so far, run's VmRSS in MB], every 10 ms. */
  readonly samples: ReadonlyArray<readonly [number, number]>
}

/** Streams `mb` MB through `run`, counting tokens and looking for the value across chunk edges. */
const stream = (box: RunSandbox, mb: number): Promise<Streamed> =>
  new Promise((resolve) => {
    const running = box.start(["run", "--env", `K=${keyPathOf("API_KEY")}`, "--", NODE, "-e", PRODUCER, String(mb)])
    const { child } = running
    child.stdin!.end()
    const counter = (needle: Buffer) => {
      // Keeps one byte less than the needle, so each occurrence is seen whole exactly once.
      let carry = Buffer.alloc(0)
      let found = 0
      return {
        push: (chunk: Buffer) => {
          const data = Buffer.concat([carry, chunk])
          for (let at = data.indexOf(needle); at !== -1; at = data.indexOf(needle, at + 1)) found++
          carry = Buffer.from(data.subarray(Math.max(0, data.length - needle.length + 1)))
        },
        found: () => found
      }
    }
    const tokens = counter(Buffer.from(token("API_KEY")))
    const values = counter(Buffer.from(VALUES.API_KEY))
    let bytes = 0
    child.stdout!.removeAllListeners("data")
    child.stdout!.on("data", (chunk: Buffer) => {
      bytes += chunk.length
      tokens.push(chunk)
      values.push(chunk)
    })
    const samples: Array<readonly [number, number]> = []
    const timer = setInterval(() => {
      try {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, "utf8")
        if (bytes > 0) samples.push([bytes / 1048576, Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024])
      } catch {
        // gone
      }
    }, 10)
    void running.result.then((result) => {
      clearInterval(timer)
      const inserted = Number(/inserted (\d+)/.exec(result.stderr)?.[1] ?? -1)
      resolve({ code: result.code, bytes, tokens: tokens.found(), leaked: values.found() > 0, inserted, samples })
    })
  })

const peak = (samples: ReadonlyArray<readonly [number, number]>, from: number, to: number) =>
  Math.max(...samples.filter(([mb]) => mb >= from && mb < to).map(([, rss]) => rss))

describe("secrets run: large output", () => {
  test(
    "200 MB is masked with run's memory flat: no higher after 100 MB than before, within 40 MB of a 20 MB run",
    async ({ onTestFinished }) => {
      const box = store.sandbox(onTestFinished)
      const small = await stream(box, 20)
      const large = await stream(box, 200)
      for (const run of [small, large]) {
        expect(run.code).toBe(0)
        expect(run.leaked).toBe(false)
        expect(run.tokens).toBe(run.inserted)
      }
      expect(large.inserted).toBe(200)
      expect(large.bytes).toBeGreaterThan(200 * 1048576)
      // Memory grows while V8 warms up (about 25 MB here), then stays put; keeping the output would add 100 MB.
      const firstHalf = peak(large.samples, 20, 100)
      const secondHalf = peak(large.samples, 100, 1000)
      expect(secondHalf - firstHalf, JSON.stringify(large.samples)).toBeLessThan(16)
      expect(peak(large.samples, 0, 1000) - peak(small.samples, 0, 1000)).toBeLessThan(40)
    },
    TIMEOUT
  )
})
