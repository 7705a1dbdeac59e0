/**
 * The files tools keep their logins in, each read by its own format, one secret per credential in it:
 *
 * - `.npmrc`: `_authToken`, `_auth` and `_password`, for a registry (`//host/:_authToken=`) or for all of them.
 * - `.pypirc`: the `password` of each `[section]` (PyPI's upload tokens live there).
 * - `.netrc` / `_netrc`: the `password` of each `machine` (curl, git, ftp, Heroku's CLI read it).
 * - `.git-credentials`: the password (a token, today) in each `https://user:password@host` line, URL-decoded.
 * - Docker's `config.json`: each registry's `auth` (base64 of user:password) and `identitytoken` under `auths`.
 *
 * A value that is a placeholder or says it is an example is not a credential (`_authToken=${NPM_TOKEN}` reads the
 * token from the environment when npm runs). Names keep the tool's context under every prefix:
 * `meta/npm/registry.npmjs.org/auth_token`, `project/api/docker/ghcr.io/auth`.
 */
import { Redacted } from "effect"
import { hasMarker, isPlaceholder } from "../dummy.js"
import type { Detection, Found, Kind } from "../Found.js"

const isCredential = (value: string): boolean => !isPlaceholder(value) && !hasMarker(value)

const unquote = (value: string): string => {
  const v = value.trim()
  return /^(["']).*\1$/s.test(v) && v.length >= 2 ? v.slice(1, -1) : v
}

const entry = (kind: Kind, line: number, locator: string, value: string, name: ReadonlyArray<string>): Found => ({
  kind,
  line,
  lastLine: line,
  locator,
  value: Redacted.make(value),
  name,
  context: name[0]!
})

const done = (found: ReadonlyArray<Found>): Detection => ({ found, dotenv: false, settings: 0 })

const hostOf = (text: string): string => {
  try {
    return new URL(text.includes("://") ? text : `https://${text.replace(/^\/\//, "")}`).hostname || "default"
  } catch {
    return "default"
  }
}

const NPM_FIELDS: Record<string, string> = { _authToken: "auth_token", _auth: "auth", _password: "password" }

export const npmrc = (text: string): Detection =>
  done(
    text.split(/\r?\n/).flatMap((line, i) => {
      const m = /^\s*([^#;=\s][^=]*?)\s*=\s*(.*)$/.exec(line)
      if (m === null) return []
      const key = m[1]!
      const field = /(?:^|:)(_authToken|_auth|_password)$/.exec(key)?.[1]
      const value = unquote(m[2]!)
      if (field === undefined || !isCredential(value)) return []
      const host = key.startsWith("//") ? hostOf(key.slice(0, key.lastIndexOf(":"))) : "default"
      return [entry("npmrc", i + 1, key, value, ["npm", host, NPM_FIELDS[field]!])]
    })
  )

export const pypirc = (text: string): Detection => {
  let section = ""
  return done(
    text.split(/\r?\n/).flatMap((line, i) => {
      const header = /^\s*\[([^\]]+)\]\s*$/.exec(line)
      if (header !== null) section = header[1]!.trim()
      const m = /^\s*password\s*[=:]\s*(.*)$/i.exec(line)
      if (m === null || section === "" || !isCredential(unquote(m[1]!))) return []
      return [entry("pypirc", i + 1, `[${section}] password`, unquote(m[1]!), ["pypi", section, "password"])]
    })
  )
}

/** netrc is a stream of words, entries spanning lines; `macdef` bodies run to the next blank line. */
export const netrc = (text: string): Detection => {
  const words: Array<{ word: string; line: number }> = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim().startsWith("#")) continue
    for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
      words.push({ word: m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!, line: i + 1 })
    }
    if (/^\s*macdef\s/.test(line)) while (i + 1 < lines.length && lines[i + 1]!.trim() !== "") i++
  }
  const found: Array<Found> = []
  let machine = "default"
  let login = ""
  for (let w = 0; w < words.length; w++) {
    const { word } = words[w]!
    const next = words[w + 1]
    if (word === "default") machine = "default"
    else if (word === "machine" && next !== undefined) machine = next.word
    else if (word === "login" && next !== undefined) login = next.word
    else if (word === "password" && next !== undefined && isCredential(next.word)) {
      const locator = `machine ${machine}${login === "" ? "" : ` login ${login}`}`
      found.push(entry("netrc", next.line, locator, next.word, ["netrc", machine, "password"]))
    }
    if (word === "machine" || word === "default") login = ""
  }
  return done(found)
}

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

export const gitCredentials = (text: string): Detection =>
  done(
    text.split(/\r?\n/).flatMap((line, i) => {
      let url: URL
      try {
        url = new URL(line.trim())
      } catch {
        return []
      }
      const password = decoded(url.password)
      if (password === "" || !isCredential(password)) return []
      const locator = `${url.protocol}//${url.username}@${url.host}${url.pathname.replace(/\/$/, "")}`
      return [entry("git-credentials", i + 1, locator, password, ["git", url.hostname, "password"])]
    })
  )

const DOCKER_FIELDS: Record<string, string> = { auth: "auth", identitytoken: "identity_token" }

/** Docker's `config.json`; undefined when the JSON has no `auths` (another tool's `config.json`). */
export const dockerConfig = (text: string): Detection | undefined => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const auths = (json as { auths?: unknown } | null)?.auths
  if (typeof auths !== "object" || auths === null) return undefined
  const lines = text.split(/\r?\n/)
  const found: Array<Found> = []
  for (const [registry, value] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof value !== "object" || value === null) continue
    const at = lines.findIndex((l) => l.includes(JSON.stringify(registry)))
    for (const [field, segment] of Object.entries(DOCKER_FIELDS)) {
      const secret = (value as Record<string, unknown>)[field]
      if (typeof secret !== "string" || !isCredential(secret)) continue
      found.push(
        entry("docker-auth", at + 1 || 1, `${registry} ${field}`, secret, ["docker", hostOf(registry), segment])
      )
    }
  }
  return done(found)
}

/** The detector for a tool's credentials file, by its name; undefined for any other file. */
export const detectCredentialFile = (base: string, text: string): Detection | undefined => {
  switch (base) {
    case ".npmrc":
      return npmrc(text)
    case ".pypirc":
      return pypirc(text)
    case ".netrc":
    case "_netrc":
      return netrc(text)
    case ".git-credentials":
      return gitCredentials(text)
    case "config.json":
      return dockerConfig(text)
    default:
      return undefined
  }
}
