/**
 * What may differ between a transcript in the documentation and the output of the same command run now: one row
 * each, with why it differs. Applied to both sides before they are compared, line by line, so anything not listed
 * here must be as the documentation shows it: words, key paths, principals, version numbers of secrets, exit status.
 * The sandbox's home directory is `~` in what a command prints, as the documentation writes it.
 */
export interface Normalisation {
  readonly pattern: RegExp
  readonly replacement: string
  readonly why: string
}

export const NORMALISATIONS: ReadonlyArray<Normalisation> = [
  {
    pattern: /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/g,
    replacement: "<time>",
    why: "times are when the command ran (and expiries, retention ends, counted from then)"
  },
  {
    pattern: /\b([0-9a-f]{16}|[0-9a-f]{64})\b/g,
    replacement: "<hex>",
    why: "key ids, audit heads and keys come from the sandbox's random key"
  },
  {
    pattern: /\b\d+\.\d+\.\d+\b/g,
    replacement: "<version>",
    why: "the program's and MCP clients' versions change with their releases"
  },
  {
    pattern: /\b\d+ records in \d+ streams?, \d+ checkpoints?/g,
    replacement: "<n> records in <n> streams, <n> checkpoints",
    why: "how many streams and checkpoints a trail has depends on the connections each process used and how long it ran"
  },
  {
    pattern: /[ \t]+/g,
    replacement: " ",
    why: "tables are padded to their widest cell, which the values above change"
  }
]

export const normalise = (line: string): string =>
  NORMALISATIONS.reduce((text, row) => text.replace(row.pattern, row.replacement), line).trimEnd()
