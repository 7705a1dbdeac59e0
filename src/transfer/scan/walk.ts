/**
 * The directory walk of `secrets import scan`: every regular file below the roots, depth first in name order (so two
 * scans of the same tree list the same thing in the same order). Symbolic links are never followed, so a link loop
 * cannot trap it and a link cannot lead it outside the tree; `node_modules` (other people's code, and thousands of
 * example keys in their READMEs) and `.git/objects` (compressed history: binary) are not entered; the store's own
 * data directory and key files are left out. Files over the value limit are skipped by their size, unread. A
 * directory or file that cannot be read is reported with its reason, and the walk goes on.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { MAX_VALUE_BYTES } from "../../domain/Secret.js"
import { unreadableReason } from "./Source.js"

export interface Problem {
  readonly path: string
  readonly reason: string
}

export interface Skipped {
  /** Symbolic links, not followed. */
  readonly links: number
  /** Files over the value limit. */
  readonly large: number
  /** FIFOs, sockets and devices. */
  readonly special: number
  /** `node_modules`, `.git/objects` and the store's own files. */
  readonly ignored: number
}

export interface Walked {
  readonly files: ReadonlyArray<string>
  readonly problems: ReadonlyArray<Problem>
  readonly skipped: Skipped
}

/** Directories never entered, by name. */
const IGNORED_DIRS = new Set(["node_modules"])

export const walk = (roots: ReadonlyArray<string>, exclude: ReadonlyArray<string> = []): Walked => {
  const files: Array<string> = []
  const problems: Array<Problem> = []
  const skipped = { links: 0, large: 0, special: 0, ignored: 0 }
  const excluded = new Set(exclude.map((p) => path.resolve(p)))

  const visit = (dir: string): void => {
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch (error) {
      problems.push({ path: dir, reason: unreadableReason(dir, error) })
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const full = path.join(dir, entry.name)
      if (excluded.has(full)) {
        skipped.ignored++
      } else if (entry.isSymbolicLink()) {
        skipped.links++
      } else if (entry.isDirectory()) {
        if (IGNORED_DIRS.has(entry.name) || (entry.name === "objects" && path.basename(dir) === ".git")) {
          skipped.ignored++
        } else {
          visit(full)
        }
      } else if (entry.isFile()) {
        file(full)
      } else {
        skipped.special++
      }
    }
  }

  const file = (full: string): void => {
    let size: number
    try {
      size = fs.lstatSync(full).size
    } catch (error) {
      problems.push({ path: full, reason: unreadableReason(full, error) })
      return
    }
    if (size > MAX_VALUE_BYTES) skipped.large++
    else files.push(full)
  }

  // A root inside another is walked as part of it, not twice.
  const resolved = [...new Set(roots.map((root) => path.resolve(root)))]
  const inside = (dir: string, other: string) =>
    dir !== other && dir.startsWith(other.endsWith(path.sep) ? other : `${other}${path.sep}`)
  for (const root of resolved) if (!resolved.some((other) => inside(root, other))) visit(root)
  return { files, problems, skipped }
}
