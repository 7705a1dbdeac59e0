/**
 * Which detector reads a file: by its name first (a `.env`, a tool's credentials file, a key file), then by its
 * content (a service-account JSON, a file that starts as a private key, Docker's `config.json`), and for every other
 * text file, the well-known token formats. One file is read by one detector, so a secret is reported once; a file
 * whose own detector finds nothing is still searched for tokens (a `config.json` of another tool, a certificate).
 */
import * as path from "node:path"
import { detectCredentialFile } from "./detectors/credentialFiles.js"
import { detectDotenv, isDotenvName } from "./detectors/dotenv.js"
import { detectTokens } from "./detectors/tokens.js"
import { detectWholeFile } from "./detectors/wholeFiles.js"
import type { Detection } from "./Found.js"

export const detect = (file: string, text: string): Detection => {
  const base = path.basename(file)
  if (isDotenvName(base)) {
    const dotenv = detectDotenv(file, base, text)
    // A .env that does not parse is still searched for tokens; its problem is reported beside them.
    return dotenv.problem === undefined ? dotenv : { ...detectTokens(base, text), problem: dotenv.problem }
  }
  const own = detectCredentialFile(base, text) ?? detectWholeFile(base, text)
  return own !== undefined && own.found.length > 0 ? own : detectTokens(base, text)
}
