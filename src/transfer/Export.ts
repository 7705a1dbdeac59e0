/**
 * `secrets export dotenv`: one project's secrets as a `.env` for a deploy step. Names are the path below the
 * prefix, upper-cased, with `/`, `.` and `-` as `_`. The file is read alike by dotenv, by `secrets import` and
 * by `set -a; . ./file` in bash and sh, and sourcing it runs nothing (see dotenvLine.ts); a secret that cannot
 * be written so is refused, all of them in one error, and then nothing is written at all. Every read is
 * recorded like any other read.
 */
import { Effect, Either, Redacted } from "effect"
import * as Actors from "../audit/Actor.js"
import * as Principal from "../auth/Principal.js"
import { ExportFailed } from "../domain/errors.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import { formatLine, type NameOptions, nameRefusal } from "./dotenvLine.js"

export const envName = (keyPath: string, prefix: string): string =>
  keyPath
    .slice(prefix.length + 1)
    .replace(/[/.-]/g, "_")
    .toUpperCase()

/**
 * The `.env` text for every secret below `prefix` (e.g. `project/consilio`). Startup names (`NODE_OPTIONS`,
 * `LD_PRELOAD`, ...) are refused unless `options.allowStartupNames`.
 */
export const toDotenv = <E = never, R = never>(
  prefix: string,
  options: NameOptions & {
    /** Asked with every key path below the prefix before any value is read (the approval gate of a token). */
    readonly beforeReading?: ((keyPaths: ReadonlyArray<string>) => Effect.Effect<void, E, R>) | undefined
  } = {}
) =>
  Effect.gen(function* () {
    const base = prefix.replace(/\/+$/, "")
    yield* parseKeyPath(`${base}/x`)
    const repo = yield* SecretsRepo
    const below = yield* repo.list({ within: [`${base}/`] })
    if (options.beforeReading !== undefined) yield* options.beforeReading(below.map((s) => s.keyPath))
    const lines: Array<string> = []
    const refused: Array<{ keyPath: string; reason: string }> = []
    const names = new Map<string, string>()
    for (const { keyPath } of below) {
      const name = envName(keyPath, base)
      const clash = names.get(name)
      names.set(name, clash ?? keyPath)
      // A refused name is reported without reading its value: it would not be exported anyway.
      const byName = clash === undefined ? nameRefusal(name, options) : `it and ${clash} both become ${name}`
      if (byName !== undefined) {
        refused.push({ keyPath, reason: byName })
        continue
      }
      const secret = yield* repo.get(yield* parseKeyPath(keyPath))
      Either.match(formatLine(name, Redacted.value(secret.value)), {
        onLeft: (reason) => refused.push({ keyPath, reason }),
        onRight: (line) => lines.push(line)
      })
    }
    if (refused.length > 0) {
      return yield* new ExportFailed({
        prefix: base,
        reason:
          `${refused.length} of its ${below.length} secrets cannot be written as a .env that dotenv, bash and sh ` +
          `read back exactly without running anything; rename or change them, or export a narrower prefix`,
        refused
      })
    }
    return { text: lines.length === 0 ? "" : `${lines.join("\n")}\n`, count: lines.length }
  })

/**
 * `secrets export dotenv` as `principal` (SECRETS_PRINCIPAL in the CLI, a token's on `secrets server`): it prints
 * values, so the whole prefix must be revealable to it, as `get` needs; recorded as `export`.
 */
export const toDotenvFor = <E = never, R = never>(
  principal: Principal.Principal,
  prefix: string,
  options: Parameters<typeof toDotenv<E, R>>[1] = {}
) =>
  Effect.gen(function* () {
    const base = prefix.replace(/\/+$/, "")
    yield* parseKeyPath(`${base}/x`)
    yield* Principal.authorizeReveal(principal, `${base}/`)
    return yield* toDotenv(prefix, options)
  }).pipe(Actors.asOperation("export"))
