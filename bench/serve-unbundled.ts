/**
 * The CLI from tsc's modules instead of the bundle (dist/secrets.cjs), for profiles: a CPU profile of the bundle
 * names one file, this one names each module. `node bench/dist/serve-unbundled.js serve` is `secrets serve`.
 */
import * as path from "node:path"

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..")
const { main } = (await import(path.join(ROOT, "dist/cli/main.js"))) as { main: () => void }
main()
