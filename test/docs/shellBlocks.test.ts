/**
 * How the documentation test reads a Markdown file: which lines are commands, which are a transcript's output,
 * what a setup comment is, and what the comparison ignores. The commands themselves run in commands.int.test.ts.
 */
import { describe, expect, it } from "vitest"
import { cannotRun } from "./cannotRun.js"
import { fencesOf } from "./markdown.js"
import { normalise } from "./normalise.js"
import { showsError, unitsOf } from "./shellBlocks.js"

const DOC = `# Title

<!-- doctest: setup
mkdir -p ~/a
secrets set meta/a/b --value x
-->

\`\`\`sh
secrets list      # a comment
# a line of comment

secrets get meta/a/b |
  wc -c
for p in a b; do
  echo "$p"
done
claude mcp add meta -- node dist/cli.js serve
\`\`\`

\`\`\`console
$ secrets get meta/a/c
error: No secret at meta/a/c.
hint: \`secrets list\` shows the key paths that exist
$ secrets versions \\
> meta/a/b
VERSION  CREATED AT            BY
1        2026-11-29T10:02:11Z  cli

$ secrets delete meta/a/b
\`\`\`

\`\`\`json
{ "not": "shell" }
\`\`\`
`

describe("reading the documentation's shell blocks", () => {
  const { fences, problems } = fencesOf("doc.md", DOC)

  it("finds each fenced block with its language, first line and the setup comment before it", () => {
    expect(problems).toEqual([])
    expect(fences.map((f) => [f.lang, f.line])).toEqual([
      ["sh", 9],
      ["console", 21],
      ["json", 33]
    ])
    expect(fences[0]!.setup).toEqual({ line: 4, lines: ["mkdir -p ~/a", "secrets set meta/a/b --value x"] })
    expect(fences[1]!.setup).toBeUndefined()
  })

  it("a plain block: setup first, a unit per command, continued lines and loops kept whole, no comments", () => {
    expect(unitsOf(fences[0]!).map((u) => [u.line, u.setup, u.text])).toEqual([
      [4, true, "mkdir -p ~/a"],
      [5, true, "secrets set meta/a/b --value x"],
      [9, false, "secrets list      # a comment"],
      [12, false, "secrets get meta/a/b |\n  wc -c"],
      [14, false, 'for p in a b; do\n  echo "$p"\ndone'],
      [17, false, "claude mcp add meta -- node dist/cli.js serve"]
    ])
    expect(unitsOf(fences[0]!).every((u) => u.expected === undefined)).toBe(true)
  })

  it("a transcript: each $ line a command with the lines after it as its output; an error: line means it fails", () => {
    const units = unitsOf(fences[1]!)
    expect(units.map((u) => [u.line, u.text, u.expected])).toEqual([
      [
        21,
        "secrets get meta/a/c",
        ["error: No secret at meta/a/c.", "hint: `secrets list` shows the key paths that exist"]
      ],
      [
        24,
        "secrets versions \\\nmeta/a/b",
        ["VERSION  CREATED AT            BY", "1        2026-11-29T10:02:11Z  cli"]
      ],
      [29, "secrets delete meta/a/b", []]
    ])
    expect(units.map((u) => showsError(u.expected!))).toEqual([true, false, false])
  })

  it("a setup comment anywhere but right before a block, or an unknown directive, is a problem with its line", () => {
    const misplaced = fencesOf("x.md", "<!-- doctest: setup true -->\n\nSome text.\n\n```sh\ntrue\n```\n")
    expect(misplaced.problems).toEqual([
      { file: "x.md", line: 1, message: "a doctest setup comment must come right before a fenced block" }
    ])
    expect(misplaced.fences[0]!.setup).toBeUndefined()
    const unknown = fencesOf("x.md", "<!-- doctest: skip because -->\n```sh\ntrue\n```\n")
    expect(unknown.problems).toEqual([
      { file: "x.md", line: 1, message: 'unknown doctest directive "skip" (the one known: setup)' }
    ])
  })

  it("the table of commands that cannot run matches from a command's start, and only those it names", () => {
    expect(cannotRun("claude mcp add meta -- node dist/cli.js serve")?.reason).toContain("Claude Code")
    expect(cannotRun("npm run test:memory")?.reason).toContain("test suite")
    expect(cannotRun("npm run build")).toBeUndefined()
    expect(cannotRun("echo claude mcp add")).toBeUndefined()
    expect(cannotRun("secrets list")).toBeUndefined()
  })

  it("the comparison ignores times, random ids, program versions, trail sizes and padding, nothing else", () => {
    expect(normalise("3        2026-11-29T10:02:11Z  project:consilio  32     -          current   ")).toBe(
      "3 <time> project:consilio 32 - current"
    )
    expect(normalise("deleted at 2026-11-29T09:00:00.000Z; key id 5f1524a76107b5e2")).toBe(
      "deleted at <time>; key id <hex>"
    )
    expect(
      normalise("the audit trail is intact: 18342 records in 41 streams, 97 checkpoints; head 5f1524a76107b5e2")
    ).toBe("the audit trail is intact: <n> records in <n> streams, <n> checkpoints; head <hex>")
    expect(normalise("claude-code 2.0.1")).toBe("claude-code <version>")
    expect(normalise("restored meta/a/b (version 2)")).not.toBe(normalise("restored meta/a/b (version 3)"))
    expect(normalise("32 alnum")).not.toBe(normalise("40 alnum"))
  })
})
