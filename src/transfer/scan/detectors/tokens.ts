/**
 * Well-known tokens inside any other text file (a YAML config, a script, a JSON settings file, a README): each
 * token found on a line that is not a dummy (../dummy.ts) is one secret, named after what the line assigns it to
 * (`github_token: ghp_...` gives `github_token`; `api_key = "AIza..."` gives `google_api_key`), else after its
 * service. In documents, tokens in a section marked as examples are left out.
 */
import { Redacted } from "effect"
import { inExampleSection, isDocument, isDummyToken } from "../dummy.js"
import { type Detection, type Found, nothing } from "../Found.js"
import { findTokens, formatsIn, type TokenFormat } from "../tokens.js"

/** The name a line assigns the token at the end of `before` to: `NAME=`, `name:`, `"name": "`, `Bearer`. */
const ASSIGNED = /([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]\s*["']?(?:Bearer\s+)?$/

const snakeCase = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()

export const tokenName = (format: TokenFormat, before: string): string => {
  const assigned = ASSIGNED.exec(before)?.[1]
  if (assigned === undefined) return format.defaultName
  const name = snakeCase(assigned)
  return name.includes(format.service) ? name : `${format.service}_${name}`
}

export const detectTokens = (base: string, text: string): Detection => {
  const formats = formatsIn(text)
  if (formats.length === 0) return nothing
  const lines = text.split(/\r\n|\n|\r/)
  const document = isDocument(base)
  const found: Array<Found> = []
  lines.forEach((line, i) => {
    findTokens(line, formats).forEach((match, n) => {
      if (isDummyToken(match.token, match.body)) return
      if (document && inExampleSection(lines, i)) return
      found.push({
        kind: match.format.kind,
        line: i + 1,
        lastLine: i + 1,
        locator: `line ${i + 1} #${n + 1}`,
        value: Redacted.make(match.token),
        name: [tokenName(match.format, line.slice(0, match.index))],
        context: match.format.service
      })
    })
  })
  return { found, dotenv: false, settings: 0 }
}
