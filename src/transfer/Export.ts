/**
 * `secrets export dotenv`: one project's secrets as a `.env` for a deploy step. Names are the path below the
 * prefix, upper-cased, with `/`, `.` and `-` as `_`. Every read is recorded like any other read.
 */
import { Effect, Redacted } from "effect"
import { ExportFailed } from "../domain/errors.js"
import { parseKeyPath } from "../domain/KeyPath.js"
import { SecretsRepo } from "../repo/SecretsRepo.js"
import * as Dotenv from "./dotenv.js"

export const envName = (keyPath: string, prefix: string): string =>
  keyPath
    .slice(prefix.length + 1)
    .replace(/[/.-]/g, "_")
    .toUpperCase()

/** The `.env` text for every secret below `prefix` (e.g. `project/consilio`). */
export const toDotenv = (prefix: string) =>
  Effect.gen(function* () {
    const base = prefix.replace(/\/+$/, "")
    yield* parseKeyPath(`${base}/x`)
    const repo = yield* SecretsRepo
    const below = (yield* repo.list()).filter((s) => s.keyPath.startsWith(`${base}/`))
    const lines: Array<string> = []
    const names = new Map<string, string>()
    for (const summary of below) {
      const name = envName(summary.keyPath, base)
      const clash = names.get(name)
      if (clash !== undefined) {
        return yield* new ExportFailed({ keyPath: summary.keyPath, reason: `it and ${clash} both become ${name}` })
      }
      names.set(name, summary.keyPath)
      const secret = yield* repo.get(yield* parseKeyPath(summary.keyPath))
      const line = Dotenv.formatEntry(name, Redacted.value(secret.value))
      if (line === undefined) {
        return yield* new ExportFailed({
          keyPath: summary.keyPath,
          reason:
            "no quoting in a .env file keeps this value unchanged (it holds ', ` and \" together, a carriage " +
            'return next to " or a literal \\n, U+2028 or U+2029, or ends with a backslash)'
        })
      }
      lines.push(line)
    }
    return { text: lines.length === 0 ? "" : `${lines.join("\n")}\n`, count: lines.length }
  })
