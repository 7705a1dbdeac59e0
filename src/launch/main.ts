/**
 * `dist/cli.js`, the `secrets` command: a small first module that runs the bundled CLI (`dist/secrets.cjs`) from
 * V8's code cache (codeCache.ts), and keeps a long-lived `serve` small. It imports nothing but Node's built-ins,
 * so that it costs nothing before the cache is read.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as fs from "node:fs"
import { cacheDirectory, cacheFileName, readCache, writeCache } from "./codeCache.js"

/** A hash of dist/secrets.cjs, set by scripts/bundle-cli.mjs. */
declare const SECRETS_BUNDLE_ID: string

/**
 * The old generation grows to 1.5x what survived its last collection, instead of V8's default factor (up to 4x
 * when collections are fast). Under 32 calls in flight `serve` promotes short-lived garbage, and the default let
 * its peak memory reach about 150 MB for 20 MB of live objects; with this, about 110 MB at the same throughput
 * (npm run bench). V8 reads this flag at every collection, so setting it now takes effect.
 */
v8.setFlagsFromString("--heap-growing-percent=50")

const bundle = path.join(path.dirname(fileURLToPath(import.meta.url)), "secrets.cjs")
const directory = cacheDirectory(process.env)
const cacheFile = directory === undefined ? undefined : path.join(directory, cacheFileName(SECRETS_BUNDLE_ID))
const cachedData = cacheFile === undefined ? undefined : readCache(cacheFile)

const script = new vm.Script(
  `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(bundle, "utf8")}\n})`,
  { filename: bundle, ...(cachedData === undefined ? {} : { cachedData }) }
)
if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
  // At exit the cache also holds what this run compiled lazily (the functions it called), not only the top level.
  process.once("exit", () => writeCache(cacheFile, script.createCachedData()))
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle))
