/**
 * Parsers for configuration values: each takes the raw text of one variable and returns the value or what is
 * wrong with it, in words an operator can act on; the caller names the variable and the allowed values. They show at most 40
 * characters of a wrong value, and nothing of a URL (it usually holds a password).
 */
import { Duration, Either, LogLevel } from "effect"
import * as path from "node:path"
import * as Principal from "../auth/Principal.js"
import { parseDurationText } from "../domain/DurationText.js"

export type Parsed<A> = Either.Either<A, string>

const describeText = (text: string) => (text.trim() === "" ? "it is empty" : `it is ${JSON.stringify(shorten(text))}`)
const shorten = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}...` : text)

/** A whole number in [min, max]. */
export const integer =
  (min: number, max: number) =>
  (text: string): Parsed<number> => {
    const trimmed = text.trim().replace(/_/g, "")
    if (!/^-?\d+$/.test(trimmed)) return Either.left(`${describeText(text)}, not a whole number`)
    const n = Number(trimmed)
    if (n < min || n > max) return Either.left(`${n} is out of range`)
    return Either.right(n)
  }

/** A duration such as `7d`, `12h`, `90s`, `500ms`, `5 seconds`, `15 minutes`. */
export const durationText = (text: string): Parsed<Duration.Duration> =>
  Either.mapLeft(parseDurationText(text), (reason) =>
    reason === "it is empty" ? reason : `${describeText(text)}, not a duration with a unit`
  )

/** A duration within [min, max]. */
export const duration =
  (min: Duration.DurationInput, max: Duration.DurationInput) =>
  (text: string): Parsed<Duration.Duration> =>
    Either.flatMap(durationText(text), (d) =>
      Duration.between(d, { minimum: min, maximum: max })
        ? Either.right(d)
        : Either.left(`${Duration.format(d)} is out of range`)
    )

const TRUE = ["true", "yes", "on", "1"]
const FALSE = ["false", "no", "off", "0"]

export const boolean = (text: string): Parsed<boolean> => {
  const t = text.trim().toLowerCase()
  if (TRUE.includes(t)) return Either.right(true)
  if (FALSE.includes(t)) return Either.right(false)
  return Either.left(describeText(text))
}

/** One of `choices`, case-insensitively; returns the canonical spelling. */
export const choice =
  <A extends string>(choices: ReadonlyArray<A>) =>
  (text: string): Parsed<A> => {
    const found = choices.find((c) => c.toLowerCase() === text.trim().toLowerCase())
    return found === undefined ? Either.left(describeText(text)) : Either.right(found)
  }

const LOG_LEVELS: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
  off: LogLevel.None
}

/** The README's spellings (`Debug`, `Info`, `Warning`, `Error`, `None`) and Effect's own, any case. */
export const logLevel = (text: string): Parsed<LogLevel.LogLevel> => {
  const level = LOG_LEVELS[text.trim().toLowerCase()]
  return level === undefined ? Either.left(describeText(text)) : Either.right(level)
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3
}

/** A size in bytes: `1048576`, `64KiB`, `16 MiB`, `1GB`. */
export const bytes =
  (min: number, max: number) =>
  (text: string): Parsed<number> => {
    const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text)
    const unit = match === null ? undefined : BYTE_UNITS[match[2]!.toLowerCase()]
    if (match === null || unit === undefined) return Either.left(`${describeText(text)}, not a size in bytes`)
    const n = Number(match[1]) * unit
    if (n < min || n > max) return Either.left(`${n} bytes is out of range`)
    return Either.right(n)
  }

/** An absolute file system path. */
export const absolutePath = (text: string): Parsed<string> => {
  if (text.trim() === "") return Either.left("it is empty")
  if (text.includes("\u0000")) return Either.left("it holds a NUL character")
  if (!path.isAbsolute(text)) return Either.left(`${describeText(text)}, a relative path`)
  return Either.right(path.normalize(text))
}

/**
 * A PostgreSQL connection URL. The text is never echoed (it usually holds a password): only what is wrong.
 */
export const postgresUrl = (text: string): Parsed<string> => {
  if (text.trim() === "") return Either.left("it is empty")
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Either.left("it is not a URL")
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return Either.left(`its scheme is ${JSON.stringify(url.protocol.slice(0, 20))}, not postgres:`)
  }
  // A Unix socket is given as ?host=/run/postgresql with an empty host part.
  if (url.hostname === "" && !url.searchParams.has("host")) return Either.left("it names no host")
  if (url.port !== "" && !/^\d+$/.test(url.port)) return Either.left("its port is not a number")
  try {
    decodeURIComponent(url.username)
    decodeURIComponent(url.password)
    decodeURIComponent(url.pathname)
  } catch {
    return Either.left("it holds a malformed %-escape (a password with % or @ must be URL-encoded)")
  }
  return Either.right(text)
}

/** `agents`, `none`, or a comma-separated list of principals (`project:alpha,service:beta`). */
export const casPolicy = (
  text: string
): Parsed<{ readonly _tag: "Agents" } | { readonly _tag: "Principals"; readonly names: ReadonlyArray<string> }> => {
  const t = text.trim().toLowerCase()
  if (t === "agents") return Either.right({ _tag: "Agents" })
  if (t === "none") return Either.right({ _tag: "Principals", names: [] })
  const names: Array<string> = []
  for (const given of text.split(",").filter((n) => n.trim() !== "")) {
    const name = Principal.parsePrincipalName(given)
    if (Either.isLeft(name)) return Either.left(name.left)
    names.push(name.right)
  }
  return Either.right({ _tag: "Principals", names })
}

/** A host as a listener or a `Host` header names it: a DNS name, an IPv4 address, or an IPv6 one in brackets. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*|\[[0-9a-f:.]+\])$/

/** `HOST:PORT` (`127.0.0.1:7800`, `[::1]:7800`, `localhost:0` for any free port); the host lowercase. */
export const listenAddress = (text: string): Parsed<{ readonly host: string; readonly port: number }> => {
  const match = /^(.+):(\d{1,5})$/.exec(text.trim().toLowerCase())
  if (match === null) return Either.left(`${describeText(text)}, not HOST:PORT`)
  const port = Number(match[2])
  if (!HOST.test(match[1]!)) return Either.left(`${JSON.stringify(shorten(match[1]!))} is not a host name or address`)
  if (port > 65_535) return Either.left(`port ${port} is out of range`)
  return Either.right({ host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port })
}

/** Comma-separated `Host` header values (`secrets.example.com`, `10.0.0.5:7800`), lowercase. */
export const hostList = (text: string): Parsed<ReadonlyArray<string>> => {
  const hosts = text
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "")
  const wrong = hosts.find((h) => !HOST.test(h.replace(/:\d{1,5}$/, "")))
  if (wrong !== undefined) return Either.left(`${JSON.stringify(shorten(wrong))} is not a host or host:port`)
  return Either.right(hosts)
}

/** Comma-separated origins (`https://console.example.com`), as browsers send them: scheme, host, port. */
export const originList = (text: string): Parsed<ReadonlyArray<string>> => {
  const origins: Array<string> = []
  for (const given of text.split(",").map((o) => o.trim())) {
    if (given === "") continue
    let url: URL | undefined
    try {
      url = new URL(given)
    } catch {
      url = undefined
    }
    const bare = url !== undefined && url.username === "" && /^[a-z]+:\/\/[^/?#]+\/?$/i.test(given)
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || !bare) {
      return Either.left(`${JSON.stringify(shorten(given))} is not an origin such as https://host:port`)
    }
    origins.push(url.origin)
  }
  return Either.right(origins)
}
