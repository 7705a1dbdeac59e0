/**
 * Client mode: with `SECRETS_SERVER` set, every command talks to that `secrets server` with a bearer token and
 * opens no database and loads no key. What a command may do comes from the token alone, so the variables that
 * would name a principal in the client's environment (`SECRETS_PRINCIPAL`, `SECRETS_GRANTS`, `SECRETS_REVEAL`) are
 * refused rather than ignored: an agent that sets them learns at once that they do nothing here.
 */
import { Either, Option, type Redacted } from "effect"
import { type ConfigProblem, StoreUnavailable } from "../domain/errors.js"
import type { Parsed } from "./parse.js"

export interface ClientSettings {
  /** The server's base URL as given, without a trailing slash (`http://127.0.0.1:7800`). */
  readonly server: string
  /** `SECRETS_TOKEN`, else the file that holds it (`SECRETS_TOKEN_FILE`, default `~/.config/secrets-mcp/token`). */
  readonly token:
    | { readonly _tag: "Env"; readonly token: Redacted.Redacted<string> }
    | {
        readonly _tag: "File"
        readonly file: string
      }
}

export const SERVER_ALLOWED = "an http:// or https:// URL of a secrets server, e.g. http://127.0.0.1:7800"

/** `http://host:port` (a path of `/` or `/mcp` is dropped: the client picks the endpoint). */
export const serverUrl = (text: string): Parsed<string> => {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    return Either.left("it is not a URL")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(`its scheme is ${JSON.stringify(url.protocol.slice(0, 20))}, not http: or https:`)
  }
  if (url.username !== "" || url.password !== "") return Either.left("it holds credentials; use SECRETS_TOKEN")
  if (url.search !== "" || url.hash !== "") return Either.left("it holds a query or fragment")
  const base = url.pathname.replace(/\/(mcp)?\/?$/, "")
  return Either.right(`${url.protocol}//${url.host}${base}`)
}

/** The variables that would choose a principal, which client mode refuses (the token chooses). */
export const PRINCIPAL_VARIABLES = ["SECRETS_PRINCIPAL", "SECRETS_GRANTS", "SECRETS_REVEAL"] as const

/** A problem for each principal variable set in client mode. */
export const principalProblems = (set: ReadonlyArray<string>): ReadonlyArray<ConfigProblem> =>
  set.map((variable) => ({
    variable,
    reason:
      "it is set while SECRETS_SERVER is: in client mode the token alone says who you are and what you may do, " +
      "so it would do nothing",
    allowed: "unset in client mode (the operator makes a token for the principal: secrets token create)"
  }))

/** Client settings from the parsed variables; `none` without SECRETS_SERVER. */
export const make = (
  server: Option.Option<string>,
  token: Option.Option<Redacted.Redacted<string>>,
  tokenFile: Option.Option<string>,
  defaultTokenFile: string
): Option.Option<ClientSettings> =>
  Option.map(server, (url) => ({
    server: url,
    token: Option.isSome(token)
      ? { _tag: "Env" as const, token: token.value }
      : { _tag: "File" as const, file: Option.getOrElse(tokenFile, () => defaultTokenFile) }
  }))

const UNAVAILABLE = "the secrets server at "

/** Client mode's `StoreUnavailable`: the server at `server` could not be asked, and why. */
export const serverUnavailable = (server: string, why: string) =>
  new StoreUnavailable({ reason: `${UNAVAILABLE}${server} ${why}` })

/** Whether a `StoreUnavailable` is client mode's (the server), not a database's. */
export const isServerUnavailable = (error: StoreUnavailable) => error.reason.startsWith(UNAVAILABLE)
