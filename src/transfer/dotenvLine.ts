/**
 * The lines `secrets export dotenv` writes. One file is read four ways: by the `dotenv` package, by this
 * store's own `.env` import, and by `set -a; . ./file` in bash and in sh (dash here). A line is written only
 * when all four read back exactly the stored value and sourcing it runs nothing; anything else is refused
 * with a reason that describes, never quotes, the value.
 *
 * Two quotings are common ground. Single quotes: the shells take everything literally up to the next `'`,
 * and dotenv and the import do no escapes inside them. Double quotes, for a value holding `'`: safe only
 * without `"`, `$`, a backtick and `\`, the four characters a shell acts on inside double quotes (dotenv acts
 * on `\n` and `\r` only, which need a `\`). No other quoting is read alike: `'\''` is shell only, dotenv's
 * `\r` escape is dotenv only.
 */
import { Either } from "effect"
import { startupRefusal } from "./startupNames.js"

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

export interface NameOptions {
  /** Export startup names (`NODE_OPTIONS`, `LD_PRELOAD`, `PATH`, ...): the operator's explicit choice. */
  readonly allowStartupNames?: boolean | undefined
}

/**
 * Why `name` cannot be assigned by sourcing the file, or undefined when it can: not a shell variable name, one
 * the shell reserves, or (unless allowed) a startup name (startupNames.ts).
 */
export const nameRefusal = (name: string, options: NameOptions = {}): string | undefined => {
  if (!IDENTIFIER.test(name)) {
    return `its name ${name} is not a shell variable name (letters, digits and _, not starting with a digit)`
  }
  return startupRefusal(name, options.allowStartupNames)
}

/** Characters a shell acts on inside double quotes. */
const DOUBLE_QUOTE_SPECIAL = /["$`\\]/

/** `NAME='value'` (or `NAME="value"`) read back exactly by all four readers, or why no line can be. */
export const formatLine = (name: string, value: string): Either.Either<string, string> => {
  if (value.includes("\u0000")) return Either.left("it holds a NUL character, which no shell variable can hold")
  // dotenv turns every CR into a line break before it reads quotes; only its own `\r` escape makes one.
  if (value.includes("\r")) return Either.left("it holds a carriage return, which dotenv reads as a line break")
  // dotenv reads `\'` before a closing quote as an escaped quote and may run on into the next line.
  if (value.endsWith("\\")) return Either.left("it ends with a backslash, which dotenv reads as escaping the quote")
  if (!value.includes("'")) return Either.right(`${name}='${value}'`)
  if (!DOUBLE_QUOTE_SPECIAL.test(value)) return Either.right(`${name}="${value}"`)
  return Either.left(
    "it holds ' together with \", $, ` or \\, which no quoting keeps unchanged for dotenv, bash and sh"
  )
}
