/**
 * The key path the scan proposes for a secret, from where its file is (the operator reviews and edits it in the
 * plan):
 *
 * - below a directory given with `--prefix-map dir=prefix` (the longest that holds the file): that prefix;
 * - else in a project, the nearest directory above the file (up to, not including, the home directory) that has a
 *   project's marker (`package.json`, `.git`, `pyproject.toml`, `go.mod`, ...): `project/<its name>`, so each
 *   project of a monorepo gets its own;
 * - else in the home directory: `meta`;
 * - else `project/<the name of the scanned directory>`.
 *
 * Below a bare scope (`meta`) a secret needs a context: a tool's credential brings its own (`meta/npm/...`), others
 * take their directory's name (`~/.ssh/id_ed25519` gives `meta/ssh/id_ed25519`), or their kind's in the home itself
 * (`~/.env` gives `meta/env/...`). Names become segments: lowercase, anything else than `a-z 0-9 _ . -` as `_`.
 * Proposals that collide get `_2`, `_3`, in the order found.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { Found } from "./Found.js"

export interface PrefixMapping {
  readonly dir: string
  readonly prefix: string
}

export interface Places {
  readonly roots: ReadonlyArray<string>
  readonly home: string
  readonly prefixMap: ReadonlyArray<PrefixMapping>
}

const PROJECT_MARKERS = [
  "package.json",
  ".git",
  "pyproject.toml",
  "setup.py",
  "requirements.txt",
  "Cargo.toml",
  "go.mod",
  "Gemfile",
  "composer.json",
  "pom.xml",
  "build.gradle",
  "build.gradle.kts",
  "deno.json",
  "mix.exs"
]

/** One key path segment made of any name. */
export const segment = (raw: string): string => {
  const s = raw
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "_")
    .replace(/^[.-]+/, "")
    .slice(0, 64)
  return s === "" ? "unnamed" : s
}

const within = (dir: string, file: string): boolean => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep)

/** Finds the project a file belongs to; markers are looked up once per directory. */
export const projectFinder = (home: string) => {
  const known = new Map<string, boolean>()
  const isProject = (dir: string): boolean => {
    let answer = known.get(dir)
    if (answer === undefined) {
      answer = PROJECT_MARKERS.some((marker) => fs.existsSync(path.join(dir, marker)))
      known.set(dir, answer)
    }
    return answer
  }
  return (file: string): string | undefined => {
    for (let dir = path.dirname(file); dir !== home && dir !== path.dirname(dir); dir = path.dirname(dir)) {
      if (isProject(dir)) return dir
    }
    return undefined
  }
}

/** The prefix for a file's secrets, and the directory that prefix stands for. */
const prefixFor = (file: string, places: Places, findProject: (file: string) => string | undefined) => {
  const mapped = places.prefixMap.filter((m) => within(m.dir, file)).sort((a, b) => b.dir.length - a.dir.length)[0]
  if (mapped !== undefined) return { segments: mapped.prefix.split("/").filter((s) => s !== ""), dir: mapped.dir }
  const project = findProject(file)
  if (project !== undefined) return { segments: ["project", segment(path.basename(project))], dir: project }
  if (within(places.home, file)) return { segments: ["meta"], dir: places.home }
  const root = places.roots.filter((r) => within(r, file)).sort((a, b) => b.length - a.length)[0] ?? path.dirname(file)
  return { segments: ["project", segment(path.basename(root))], dir: root }
}

export const proposer = (places: Places) => {
  const findProject = projectFinder(places.home)
  return (file: string, found: Found): string => {
    const prefix = prefixFor(file, places, findProject)
    const parent = path.dirname(file)
    const context = parent === prefix.dir ? found.context : path.basename(parent)
    const name = prefix.segments.length === 1 && found.name.length === 1 ? [context, ...found.name] : found.name
    return [...prefix.segments, ...name.map(segment)].join("/")
  }
}

/** Makes proposals unique: a repeated one gets `_2`, `_3`, ... in order. */
export const uniquePaths = (keyPaths: ReadonlyArray<string>): ReadonlyArray<string> => {
  const taken = new Set<string>()
  return keyPaths.map((keyPath) => {
    let candidate = keyPath
    for (let n = 2; taken.has(candidate); n++) candidate = `${keyPath}_${n}`
    taken.add(candidate)
    return candidate
  })
}
