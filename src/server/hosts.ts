/**
 * Which `Host` and `Origin` headers the server answers: the defence against DNS rebinding, checked on every request
 * before anything else (403). A page on evil.example whose name is made to resolve to 127.0.0.1 reaches the
 * listener with `Host: evil.example:7800` and `Origin: http://evil.example:7800`: neither is accepted. Accepted
 * hosts: the loopback names with the bound port, the address listened on, and SECRETS_SERVER_HOSTS. Accepted
 * origins: those hosts with the server's scheme, and SECRETS_SERVER_ORIGINS. A request without `Origin` (every MCP
 * client but a browser) is judged by its `Host` alone; `Origin: null` (a sandboxed page, a file) is refused.
 */
import { hostPort, isLoopback } from "./listen.js"

export interface HostRules {
  readonly host: (header: string | undefined) => boolean
  readonly origin: (header: string | undefined) => boolean
}

const WILDCARDS = new Set(["0.0.0.0", "::"])
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"]

export const hostRules = (options: {
  /** As listened on (the settings' host). */
  readonly host: string
  /** As bound (port 0 became a real one). */
  readonly port: number
  /** The scheme clients use: https with TLS here or at a proxy in front. */
  readonly https: boolean
  readonly hosts: ReadonlyArray<string>
  readonly origins: ReadonlyArray<string>
}): HostRules => {
  const scheme = options.https ? "https" : "http"
  const defaultPort = options.https ? 443 : 80
  const own = [...LOOPBACK_NAMES, ...(WILDCARDS.has(options.host) || isLoopback(options.host) ? [] : [options.host])]
  const hosts = new Set<string>()
  const origins = new Set<string>(options.origins)
  for (const name of own) {
    const withPort = hostPort(name, options.port)
    const bare = withPort.replace(/:\d+$/, "")
    for (const h of options.port === defaultPort ? [withPort, bare] : [withPort]) {
      hosts.add(h)
      origins.add(`${scheme}://${h}`)
    }
  }
  // A name the operator vouched for: as written, and with the bound port when written without one. Clients may
  // reach it through a proxy on either scheme.
  for (const name of options.hosts) {
    for (const h of /:\d+$/.test(name) ? [name] : [name, `${name}:${options.port}`]) {
      hosts.add(h)
      origins.add(`http://${h}`)
      origins.add(`https://${h}`)
    }
  }
  return {
    host: (header) => header !== undefined && hosts.has(header.toLowerCase()),
    origin: (header) => header === undefined || origins.has(header.toLowerCase())
  }
}
