/**
 * The bearer token of client mode: `SECRETS_TOKEN`, else the token file, which must be the caller's alone (a token
 * readable by others is anyone's on this machine), as ssh refuses a private key readable by others.
 */
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import type { ClientSettings } from "../config/ClientSettings.js"
import { InvalidConfig } from "../domain/errors.js"

const ALLOWED = "a file of the caller's alone (chmod 600) holding one token, smcp_..."

const problem = (reason: string) => InvalidConfig.of([{ variable: "SECRETS_TOKEN_FILE", reason, allowed: ALLOWED }])

/** Why the token file cannot be read: missing, or there but kept from the caller (a directory above, its owner). */
const unreachable = (file: string, error: unknown) =>
  (error as NodeJS.ErrnoException).code === "EACCES"
    ? `${file} cannot be read by this user (permission denied on it or a directory above it); the token file must be the caller's own`
    : `there is no token file ${file}; put the token the operator gave you there, or set SECRETS_TOKEN`

export const readToken = (client: ClientSettings): Effect.Effect<Redacted.Redacted<string>, InvalidConfig> => {
  if (client.token._tag === "Env") return Effect.succeed(client.token.token)
  const file = client.token.file
  return Effect.suspend(() => {
    let stat: fs.Stats
    try {
      stat = fs.statSync(file)
    } catch (error) {
      return Effect.fail(problem(unreachable(file, error)))
    }
    if (!stat.isFile()) return Effect.fail(problem(`${file} is not a file`))
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0")
      return Effect.fail(problem(`${file} may be read by group or others (mode ${mode}); run chmod 600 ${file}`))
    }
    let text: string
    try {
      text = fs.readFileSync(file, "utf8").trim()
    } catch (error) {
      return Effect.fail(problem(unreachable(file, error)))
    }
    if (text === "" || /\s/.test(text)) return Effect.fail(problem(`${file} does not hold one token`))
    return Effect.succeed(Redacted.make(text))
  })
}
