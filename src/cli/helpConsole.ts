/**
 * @effect/cli prints its help, the version and usage errors through Effect's `Console`, with no way to style them.
 * `withHelpConsole` gives it a console that passes that text through `present` (helpText.ts), styled for the
 * stream it goes to; `withPlainConsole` gives every command's handler the console back untouched, so a result
 * (a secret's value, a completion script) is never changed.
 */
import { Console, Effect } from "effect"
import { present, type Style } from "./helpText.js"

const PLAIN = Symbol.for("secrets-mcp/cli/PlainConsole")

type HelpConsole = Console.Console & { readonly [PLAIN]: Console.Console }

/** Colour on a terminal unless NO_COLOR; wrapped to the terminal's width; neither into a pipe. */
export const styleFor = (stream: NodeJS.WriteStream, noColor: boolean): Style => ({
  color: stream.isTTY === true && !noColor,
  width: stream.isTTY === true && stream.columns > 0 ? stream.columns : undefined
})

const styled = (args: ReadonlyArray<unknown>, style: Style) =>
  args.map((arg) => (typeof arg === "string" ? present(arg, style) : arg))

const helpConsole = (plain: Console.Console, noColor: boolean): HelpConsole => ({
  ...plain,
  [PLAIN]: plain,
  log: (...args) => plain.log(...styled(args, styleFor(process.stdout, noColor))),
  error: (...args) => plain.error(...styled(args, styleFor(process.stderr, noColor)))
})

/** Runs `effect` (the CLI's parsing) with @effect/cli's text styled. */
export const withHelpConsole =
  (noColor: boolean) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Console.consoleWith((plain) => Effect.withConsole(effect, helpConsole(plain, noColor)))

/** Runs a command's handler with the console as it was before `withHelpConsole`. */
export const withPlainConsole = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((current) =>
    PLAIN in current ? Effect.withConsole(effect, (current as HelpConsole)[PLAIN]) : effect
  )
