/**
 * docs/cli.md's command table is what `secrets --help` lists: a row per command (a group such as `import`, which
 * only holds subcommands, is no command), and each row's usage names exactly the command's options. README.md's
 * CLI table names every command there is, by its first word, and no other. Needs `npm run build` first.
 */
import { afterAll, describe, expect, it } from "vitest"
import { expectOk, makeSandbox } from "../cli/harness.js"
import { codeSpans, tableWithHeader } from "./markdown.js"

const FILE = "docs/cli.md"

interface Usage {
  /** The command's words: `import scan`. */
  readonly path: string
  readonly options: ReadonlyArray<string>
  readonly line?: number
}

/** `text`'s words, a bracketed group (`[--scope meta | project | service]`, `<keyPath>`) kept as one. */
const tokens = (text: string): Array<string> => {
  const out: Array<string> = []
  let depth = 0
  let current = ""
  for (const char of text) {
    if (char === " " && depth === 0) {
      if (current !== "") out.push(current)
      current = ""
      continue
    }
    if (char === "[" || char === "<") depth++
    if ((char === "]" || char === ">") && depth > 0) depth--
    current += char
  }
  if (current !== "") out.push(current)
  return out
}

const OPTION = /--[a-z][a-z-]*/g
const WORD = /^[a-z][a-z-]*$/

/**
 * A usage line of `--help` (`audit [--path text] ... verify [--head text]`): the command's words, and the options
 * after the last of them (a subcommand's usage shows its parent's options before its own name). A required
 * option's value (`--to integer`) is not a word.
 */
const helpUsage = (usage: string): Usage & { readonly bare: boolean } => {
  const path: Array<string> = []
  let options: Array<string> = []
  let args = false
  const words = tokens(usage)
  for (let i = 0; i < words.length; i++) {
    const token = words[i]!
    if (token.startsWith("[")) options.push(...(token.match(OPTION) ?? []))
    else if (token.startsWith("<")) args = true
    else if (token.startsWith("--")) {
      options.push(token)
      if (i + 1 < words.length && !/^[-[<]/.test(words[i + 1]!)) i++
    } else if (WORD.test(token)) {
      path.push(token)
      options = []
    }
  }
  return { path: path.join(" "), options: [...new Set(options)].sort(), bare: options.length === 0 && !args }
}

/** A row's usage cell (`secrets set <keyPath> [--stdin \| --value V] ...`): the words after `secrets`, every option. */
const docUsage = (cell: string, line: number): Usage => {
  const text = codeSpans(cell)[0] ?? cell
  const words = text.split(/\s+/).slice(1)
  const end = words.findIndex((word) => !WORD.test(word))
  return {
    path: words.slice(0, end < 0 ? words.length : end).join(" "),
    options: [...new Set(text.match(OPTION) ?? [])].sort(),
    line
  }
}

const box = makeSandbox("secrets-doc-commands-")
afterAll(() => box.remove())

/** The commands `secrets --help` lists, leaving out groups: a bare name that other commands extend. Asked once. */
let listed: Promise<ReadonlyArray<Usage>> | undefined
const helpCommands = (): Promise<ReadonlyArray<Usage>> => (listed ??= askHelp())

const askHelp = async (): Promise<ReadonlyArray<Usage>> => {
  const help = await box.run(["--help"])
  expectOk(help)
  const all = help.stdout
    .split("\n")
    .flatMap((line) => (/^ {2}- /.test(line) ? [helpUsage(line.replace(/^ {2}- /, ""))] : []))
  return all.filter((u) => !(u.bare && all.some((other) => other.path.startsWith(`${u.path} `))))
}

describe(`${FILE}'s command table`, () => {
  it("has a row for every command secrets --help lists, and none for a command it does not", async () => {
    const commands = await helpCommands()
    const rows = tableWithHeader(FILE, ["command", "what it does"]).map((row) => docUsage(row.cells[0]!, row.line))
    expect({
      add: commands.filter((c) => !rows.some((r) => r.path === c.path)).map((c) => `secrets ${c.path}`),
      remove: rows
        .filter((r) => !commands.some((c) => c.path === r.path))
        .map((r) => `${FILE}:${r.line}: secrets ${r.path}`)
    }).toEqual({ add: [], remove: [] })
  })

  it("gives each command exactly the options it takes", async () => {
    const commands = await helpCommands()
    const wrong = tableWithHeader(FILE, ["command", "what it does"]).flatMap((row) => {
      const documented = docUsage(row.cells[0]!, row.line)
      const command = commands.find((c) => c.path === documented.path)
      if (command === undefined) return []
      const add = command.options.filter((o) => !documented.options.includes(o))
      const remove = documented.options.filter((o) => !command.options.includes(o))
      if (add.length === 0 && remove.length === 0) return []
      return [
        `${FILE}:${row.line}: secrets ${command.path}` +
          (add.length > 0 ? `: add ${add.join(", ")}` : "") +
          (remove.length > 0 ? `: remove ${remove.join(", ")} (not an option of it)` : "")
      ]
    })
    expect(wrong).toEqual([])
  })
})

describe("README.md's CLI table", () => {
  it("names every command by its first word, and only commands", async () => {
    const commands = [...new Set((await helpCommands()).map((c) => c.path.split(" ")[0]!))].sort()
    const named = tableWithHeader("README.md", ["command", "what it does"]).flatMap((row) =>
      codeSpans(row.cells[0]!).map((span) => span.replace(/^secrets /, "").split(" ")[0]!)
    )
    expect({
      add: commands.filter((c) => !named.includes(c)),
      remove: [...new Set(named)].filter((n) => !commands.includes(n))
    }).toEqual({ add: [], remove: [] })
  })
})
