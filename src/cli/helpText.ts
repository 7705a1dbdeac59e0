/**
 * @effect/cli's own text (help, the version, usage errors) as a person should read it. @effect/cli renders it with
 * @effect/printer-ansi, which always writes ANSI colour codes and never wraps (a command's description follows its
 * usage padded to the longest usage, 200 columns here, so a terminal cut it mid-word). Here:
 * - colour only on a terminal, and not when NO_COLOR is set (no-color.org);
 * - the command list as each usage, then its description indented below it;
 * - on a terminal, lines wrapped at spaces to its width, with a hanging indent, never inside a word or a short
 *   bracketed group (`[--limit integer]`); into a pipe, nothing is wrapped;
 * - `get --version N`'s option, which @effect/cli knows as `--version-number` (main.ts), shown as `--version`.
 * Pure: the caller says whether colour is wanted and how wide the terminal is.
 */

export interface Style {
  readonly color: boolean
  /** The terminal's width; undefined into a pipe or a file (no wrapping). */
  readonly width: number | undefined
}

const ANSI = /\x1b\[[0-9;]*m/g

/** What a terminal shows of `text`: its width without the colour codes. */
const visible = (text: string) => text.replace(ANSI, "").length

/** A command list entry as @effect/cli pads it: `  - <usage><two or more spaces><description>`. */
const COMMAND_ROW = /^( *)- (\S(?:.*?\S)?) {2,}(\S.*)$/

/** Below this, a narrower terminal is taken as this wide: a hanging indent must leave room for words. */
const MIN_WIDTH = 40

/** The line's words, a bracketed group (`[--value redacted]`, `<keyPath>`) kept as one while it fits. */
const tokens = (text: string, room: number): Array<string> => {
  const groups: Array<string> = []
  let depth = 0
  let current = ""
  for (const char of text) {
    if (char === " " && depth === 0) {
      groups.push(current)
      current = ""
      continue
    }
    if (char === "[" || char === "<") depth++
    if ((char === "]" || char === ">") && depth > 0) depth--
    current += char
  }
  groups.push(current)
  return groups.flatMap((group) => (visible(group) > room && group.includes(" ") ? group.split(" ") : [group]))
}

/** `line` in rows of at most `width` columns, broken at spaces; a word longer than a row stays whole. */
export const wrapLine = (line: string, width: number): Array<string> => {
  if (visible(line) <= width) return [line]
  const indent = /^ */.exec(line)![0]
  const body = line.slice(indent.length)
  // Under a list item or a usage line, continuation rows line up with its text.
  const hang = indent + (/^(- |\$ )/.test(body.replace(ANSI, "")) ? "  " : "")
  const rows: Array<string> = []
  let row = indent
  for (const token of tokens(body, width - hang.length)) {
    if (row.trim() === "") row += token
    else if (visible(row) + 1 + visible(token) <= width) row += ` ${token}`
    else {
      rows.push(row)
      row = hang + token
    }
  }
  rows.push(row)
  return rows
}

export const present = (text: string, style: Style): string => {
  const colored = text.replace(/--version-number\b/g, "--version")
  const plain = style.color ? colored : colored.replace(ANSI, "")
  const lines = plain
    .trimEnd()
    .split("\n")
    .flatMap((line) => {
      const row = COMMAND_ROW.exec(line)
      return row === null ? [line] : [`${row[1]}- ${row[2]}`, `${row[1]}    ${row[3]}`]
    })
  const width = style.width === undefined ? undefined : Math.max(style.width, MIN_WIDTH)
  return (width === undefined ? lines : lines.flatMap((line) => wrapLine(line, width))).join("\n")
}
