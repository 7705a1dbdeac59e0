/**
 * For the secure-entry tests: an SDK client over Streamable HTTP that records every byte of the session's traffic
 * (each request body it sends, each response body as it streams in), optionally declaring URL-mode elicitation
 * and keeping the `elicitation/create` requests it receives; and the /provide page's form, posted as a browser
 * would (raw node:http, so Origin and Host are exactly as given).
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { type ElicitRequest, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { raw } from "./httpServer.js"

export interface Recorded {
  readonly client: Client
  /** Everything sent and received so far, in order. */
  readonly traffic: Array<string>
  readonly elicitations: Array<ElicitRequest["params"]>
}

const recordingFetch =
  (traffic: Array<string>): typeof fetch =>
  async (input, init) => {
    if (typeof init?.body === "string") traffic.push(init.body)
    const response = await fetch(input, init)
    if (response.body === null) return response
    const [mine, theirs] = response.body.tee()
    void (async () => {
      const decoder = new TextDecoder()
      for await (const chunk of mine) traffic.push(decoder.decode(chunk, { stream: true }))
    })().catch(() => undefined)
    return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers })
  }

/** Connects as `token`; closed with the scope. */
export const connectRecorded = (url: string, token: string, options: { readonly urlElicitation?: boolean } = {}) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<Recorded> => {
      const traffic: Array<string> = []
      const elicitations: Array<ElicitRequest["params"]> = []
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
        fetch: recordingFetch(traffic)
      })
      const client = new Client(
        { name: "entry-test", version: "0.0.0" },
        { capabilities: options.urlElicitation === true ? { elicitation: { url: {} } } : {} }
      )
      if (options.urlElicitation === true) {
        client.setRequestHandler(ElicitRequestSchema, async (request) => {
          elicitations.push(request.params)
          return { action: "accept" }
        })
      }
      await client.connect(transport)
      await client.listTools()
      return { client, traffic, elicitations }
    }),
    ({ client }) => Effect.promise(() => client.close().catch(() => undefined))
  )

/** A tool's structured result. */
export const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(async () => {
    const result = await client.callTool({ name, arguments: args })
    return { isError: result.isError === true, structured: result.structuredContent as Record<string, unknown> }
  })

/** The page's anti-CSRF token, read from its form. */
export const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1]

/** A POST of the page's form, with the given Origin (none when null). */
export const postForm = (
  port: number,
  path: string,
  fields: Record<string, string>,
  origin: string | null = `http://127.0.0.1:${port}`
) =>
  raw(port, {
    path,
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(origin === null ? {} : { Origin: origin })
    },
    body: new URLSearchParams(fields).toString()
  })

export interface CliResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * The built CLI (`dist/cli.js`) with `env` and `input` on stdin. Not spawnSync: the server under test runs in this
 * process and must go on answering meanwhile.
 */
export const runCli = (env: Record<string, string>, args: ReadonlyArray<string>, input = "") =>
  Effect.promise(
    () =>
      new Promise<CliResult>((resolve) => {
        const child = execFile("node", [path.resolve("dist/cli.js"), ...args], { env }, (error, stdout, stderr) =>
          resolve({ status: error === null ? 0 : (child.exitCode ?? 1), stdout, stderr })
        )
        child.stdin?.end(input)
      })
  )
