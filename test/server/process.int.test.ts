/**
 * The built `secrets server` as a process: it says where it listens on stderr and nothing on stdout, refuses
 * requests without a token, a forged Host and any OAuth discovery path, exits 0 on SIGTERM, and refuses to listen
 * beyond loopback without TLS (InvalidConfig, exit 18) while it serves HTTPS with the TLS files.
 */
import { afterEach, describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as https from "node:https"
import * as net from "node:net"
import * as path from "node:path"
import { hexKey, makeSandbox, type Sandbox } from "../cli/harness.js"
import { mcpHeaders, raw, INITIALIZE } from "../support/httpServer.js"
import { startServerProcess, stopServerProcess } from "../support/serverProcess.js"

const boxes: Array<Sandbox> = []
afterEach(() => {
  for (const box of boxes.splice(0)) box.remove()
})

const sandbox = () => {
  const box = makeSandbox("secrets-server-")
  boxes.push(box)
  return box
}

/**
 * The store these servers open is a database nobody listens for: what is tested here is the listener, and an
 * embedded store opened in the background could outlive a server stopped before it was up.
 */
const NO_STORE = { SECRETS_ENCRYPTION_KEY: hexKey(), DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" }

const startServer = (box: Sandbox, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  startServerProcess(box, args, { ...NO_STORE, ...env })

const stop = stopServerProcess

describe("secrets server, the process", () => {
  it("listens where it says on stderr, refuses without a token, keeps stdout empty, and exits 0 on SIGTERM", async () => {
    const box = sandbox()
    const { port, running, stderr } = await startServer(box, ["--listen", "127.0.0.1:0"])
    expect(stderr()).toContain(`http://127.0.0.1:${port}/mcp`)
    const unauthorized = await raw(port, { headers: mcpHeaders(undefined), body: INITIALIZE })
    expect(unauthorized.status).toBe(401)
    expect(unauthorized.headers["www-authenticate"]).toBe("Bearer")
    const forged = await raw(port, {
      headers: { ...mcpHeaders(undefined), Host: `rebind.example:${port}` },
      body: INITIALIZE
    })
    expect(forged.status).toBe(403)
    const discovery = await raw(port, { method: "GET", path: "/.well-known/oauth-protected-resource" })
    expect(discovery.status).toBe(404)
    const result = await stop(running)
    expect(result.code).toBe(0)
    expect(result.ms).toBeLessThan(10_000)
    expect(result.stdoutBytes.length).toBe(0)
  })

  it("beyond loopback without TLS it does not start: InvalidConfig naming --listen or the variable", async () => {
    const box = sandbox()
    const flag = await box.run(["server", "--listen", "0.0.0.0:0"], { env: NO_STORE })
    expect(flag.code).toBe(18)
    expect(flag.stderr).toContain("--listen is invalid: 0.0.0.0:0 is not a loopback address")
    expect(flag.stderr).toContain("SECRETS_SERVER_TLS_PROXY=true")
    const variable = await box.run(["server"], {
      env: { ...NO_STORE, SECRETS_SERVER_LISTEN: "0.0.0.0:0" }
    })
    expect(variable.code).toBe(18)
    expect(variable.stderr).toContain("SECRETS_SERVER_LISTEN is invalid")
    const text = await box.run(["server", "--listen", "localhost"], { env: NO_STORE })
    expect(text.code).toBe(18)
    expect(text.stderr).toContain("--listen is invalid")
    // The operator's word that a proxy terminates TLS is enough.
    const proxied = await startServer(box, ["--listen", "0.0.0.0:0"], { SECRETS_SERVER_TLS_PROXY: "true" })
    expect((await stop(proxied.running)).code).toBe(0)
  })

  it("an address in use is InvalidConfig saying so", async () => {
    const box = sandbox()
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    try {
      const port = (holder.address() as net.AddressInfo).port
      const result = await box.run(["server", "--listen", `127.0.0.1:${port}`], {
        env: NO_STORE
      })
      expect(result.code).toBe(18)
      expect(result.stderr).toContain(`127.0.0.1:${port}: another process listens there already`)
    } finally {
      holder.close()
    }
  })

  it("with the TLS files it speaks HTTPS, beyond loopback too; a key that is not one is InvalidConfig", async () => {
    const box = sandbox()
    const cert = path.join(box.root, "cert.pem")
    const key = path.join(box.root, "key.pem")
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert
      ],
      { encoding: "utf8" }
    )
    expect(made.status, made.stderr).toBe(0)
    const tls = { SECRETS_SERVER_TLS_CERT_FILE: cert, SECRETS_SERVER_TLS_KEY_FILE: key }
    const { port, running, stderr } = await startServer(box, ["--listen", "0.0.0.0:0"], tls)
    expect(stderr()).toContain(`https://127.0.0.1:${port}/mcp`)
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/mcp",
          ca: fs.readFileSync(cert),
          headers: { ...mcpHeaders(undefined), Host: `127.0.0.1:${port}` }
        },
        (res) => {
          res.resume()
          resolve(res.statusCode!)
        }
      )
      req.on("error", reject)
      req.end(INITIALIZE)
    })
    expect(status).toBe(401)
    // Plain HTTP to the TLS port gets no MCP answer.
    await expect(raw(port, { headers: mcpHeaders(undefined), body: INITIALIZE })).rejects.toThrow()
    expect((await stop(running)).code).toBe(0)
    const broken = await box.run(["server", "--listen", "127.0.0.1:0"], {
      env: { ...NO_STORE, ...tls, SECRETS_SERVER_TLS_KEY_FILE: cert }
    })
    expect(broken.code).toBe(18)
    expect(broken.stderr).toContain("SECRETS_SERVER_TLS_KEY_FILE is invalid")
    const half = await box.run(["server"], {
      env: { ...NO_STORE, SECRETS_SERVER_TLS_CERT_FILE: cert }
    })
    expect(half.code).toBe(18)
    expect(half.stderr).toContain("SECRETS_SERVER_TLS_KEY_FILE is invalid: it is unset while the other TLS file is set")
  })
})
