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

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Names the sourcing shell acts on when they are assigned: `set -a; . ./file` runs in the caller's own shell,
 * so `PATH` or `IFS` would change how the rest of its script runs, `PS4` is expanded (commands and all) under
 * `set -x`, `ENV` and `BASH_ENV` name a file every later shell sources, and `set -a` exports each one to every
 * command run afterwards. The Bourne and POSIX variables, dash's (sh(1)), and bash 5.2's ("Shell Variables").
 */
const SHELL_NAMES = new Set(
  (
    "_ CDPATH ENV FCEDIT HISTFILE HISTSIZE HOME IFS LANG LINENO MAIL MAILCHECK MAILPATH NLSPATH OLDPWD OPTARG " +
    "OPTERR OPTIND PATH POSIXLY_CORRECT PPID PS1 PS2 PS3 PS4 PWD SHELL TERM TMPDIR " +
    "BASH BASHOPTS BASHPID CHILD_MAX COLUMNS COMPREPLY COPROC DIRSTACK EMACS EPOCHREALTIME EPOCHSECONDS EUID " +
    "EXECIGNORE FIGNORE FUNCNAME FUNCNEST GLOBIGNORE GROUPS HISTCMD HISTCONTROL HISTFILESIZE HISTIGNORE " +
    "HISTTIMEFORMAT HOSTFILE HOSTNAME HOSTTYPE IGNOREEOF INPUTRC INSIDE_EMACS LINES MACHTYPE MAPFILE OSTYPE " +
    "PIPESTATUS PROMPT_COMMAND PROMPT_DIRTRIM PS0 RANDOM READLINE_ARGUMENT READLINE_LINE READLINE_MARK " +
    "READLINE_POINT REPLY SECONDS SHELLOPTS SHLVL SRANDOM TIMEFORMAT TMOUT UID"
  ).split(" ")
)

/** Whole families: bash's own (`BASH_ENV`, `BASH_XTRACEFD`, `BASH_FUNC_*`), completion, locale, and the
 * dynamic loader's, which acts on every command the shell runs once `set -a` has exported them. */
const SHELL_PREFIXES = ["BASH_", "COMP_", "LC_", "LD_"]

/** Why `name` cannot be assigned by sourcing the file, or undefined when it can. */
export const nameRefusal = (name: string): string | undefined => {
  if (!IDENTIFIER.test(name)) {
    return `its name ${name} is not a shell variable name (letters, digits and _, not starting with a digit)`
  }
  if (SHELL_NAMES.has(name) || SHELL_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    return `its name ${name} is special to the shell or the dynamic loader (sourcing the file would change how the shell and what it runs behave)`
  }
  return undefined
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
