/**
 * Where `secrets server` listens, and the rule for it: a loopback address (127.0.0.0/8, ::1, localhost) is enough
 * on its own; anything else carries bearer tokens across a network, so it needs TLS (the certificate and key
 * files) or the operator's word that a proxy in front terminates TLS (SECRETS_SERVER_TLS_PROXY). Binding failures
 * (the address in use, not local, a privileged port) are `InvalidConfig` naming where the address came from.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import type { HttpSettings, ListenAddress } from "../config/HttpSettings.js"
import { type ConfigProblem, InvalidConfig } from "../domain/errors.js"

/** Where the listen address came from, for the error that names it. */
export type ListenSource = "--listen" | "SECRETS_SERVER_LISTEN"

export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)

/** `host:port` as a URL or a `Host` header spells it (an IPv6 address in brackets). */
export const hostPort = (host: string, port: number): string => `${host.includes(":") ? `[${host}]` : host}:${port}`

export interface Plan {
  readonly listen: ListenAddress
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined
}

const ALLOWED_LISTEN =
  "a loopback HOST:PORT (127.0.0.1:7800), or another with TLS files or SECRETS_SERVER_TLS_PROXY=true"

const readPem = (variable: string, file: string, problems: Array<ConfigProblem>): Buffer | undefined => {
  try {
    return fs.readFileSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "an error"
    problems.push({ variable, reason: `${file} cannot be read (${code})`, allowed: "a readable PEM file" })
    return undefined
  }
}

/** Checks the listen rule and reads the TLS files, reporting every problem at once. */
export const plan = (settings: HttpSettings, listen: ListenAddress, source: ListenSource) =>
  Effect.suspend(() => {
    const problems: Array<ConfigProblem> = []
    const { tlsCertFile, tlsKeyFile } = settings
    if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
      const missing = tlsCertFile === undefined ? "SECRETS_SERVER_TLS_CERT_FILE" : "SECRETS_SERVER_TLS_KEY_FILE"
      problems.push({
        variable: missing,
        reason: "it is unset while the other TLS file is set",
        allowed: "both or neither"
      })
    }
    const withTls = tlsCertFile !== undefined && tlsKeyFile !== undefined
    if (!isLoopback(listen.host) && !withTls && !settings.tlsProxy) {
      problems.push({
        variable: source,
        reason:
          `${hostPort(listen.host, listen.port)} is not a loopback address, and tokens would cross the network in ` +
          `clear: set SECRETS_SERVER_TLS_CERT_FILE and SECRETS_SERVER_TLS_KEY_FILE, or SECRETS_SERVER_TLS_PROXY=true ` +
          `if a proxy in front terminates TLS`,
        allowed: ALLOWED_LISTEN
      })
    }
    const cert = withTls ? readPem("SECRETS_SERVER_TLS_CERT_FILE", tlsCertFile, problems) : undefined
    const key = withTls ? readPem("SECRETS_SERVER_TLS_KEY_FILE", tlsKeyFile, problems) : undefined
    if (problems.length > 0) return Effect.fail(InvalidConfig.of(problems))
    return Effect.succeed<Plan>({
      listen,
      tls: cert !== undefined && key !== undefined ? { cert, key } : undefined
    })
  })

export interface Timeouts {
  /** For the request line and headers: a client that trickles them is cut off (408). */
  readonly headersMs: number
  /** For the whole request, body included. Responses (an SSE stream) are not limited. */
  readonly requestMs: number
  /** How often Node looks for requests past those limits. */
  readonly checkEveryMs: number
}

/** A healthy client sends a request in milliseconds; these only end the ones that never finish. */
export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 }

const BIND_REASONS: Record<string, string> = {
  EADDRINUSE: "another process listens there already (another secrets server?)",
  EADDRNOTAVAIL: "no network interface of this machine has that address",
  EACCES: "this user may not listen on that port (below 1024 needs privileges)",
  ENOTFOUND: "that host name does not resolve"
}

/** A node server on the plan's address (HTTPS with its TLS files), listening; its bound address. */
export const bind = (settings: Plan, source: ListenSource, timeouts: Timeouts, handler: http.RequestListener) =>
  Effect.async<{ readonly server: http.Server; readonly address: AddressInfo }, InvalidConfig>((resume) => {
    const options: http.ServerOptions = {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: timeouts.checkEveryMs
    }
    let server: http.Server
    try {
      server =
        settings.tls === undefined
          ? http.createServer(options, handler)
          : https.createServer({ ...options, cert: settings.tls.cert, key: settings.tls.key }, handler)
    } catch (error) {
      // Node's words for a file that is not PEM, or a key that does not match the certificate.
      const reason = `the certificate and key are not usable together (${(error as Error).message.slice(0, 120)})`
      const allowed = "a PEM certificate chain and its PEM private key"
      return resume(Effect.fail(InvalidConfig.of([{ variable: "SECRETS_SERVER_TLS_KEY_FILE", reason, allowed }])))
    }
    const failed = (error: NodeJS.ErrnoException) => {
      const reason = BIND_REASONS[error.code ?? ""] ?? `it failed (${error.code ?? error.message})`
      const where = hostPort(settings.listen.host, settings.listen.port)
      resume(
        Effect.fail(InvalidConfig.of([{ variable: source, reason: `${where}: ${reason}`, allowed: ALLOWED_LISTEN }]))
      )
    }
    server.once("error", failed)
    server.listen(settings.listen.port, settings.listen.host, () => {
      server.off("error", failed)
      resume(Effect.succeed({ server, address: server.address() as AddressInfo }))
    })
  })
