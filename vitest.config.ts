import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

// Projects: `memory` is the fast in-process suite (`npm run test:memory`); `integration` needs
// real processes, the embedded store or PostgreSQL (`TEST_DATABASE_URL`); `faults` stops servers and kills
// processes (`npm run test:faults`); `conformance` runs the MCP conformance suite (`npm run test:conformance`).
// `npm test` runs memory and integration.
//
// Both run in a directory of their own (TMPDIR, on /dev/shm when there is one) and fail if anything is left in it
// after the last file: a server, a child process, a file (test/support/globalSetup.ts).
const globalSetup = ["test/support/globalSetup.ts"]

// Files at once: one per core, not vitest's default of one less. An integration file spends most of its time
// waiting on the processes it started (the CLI, serve, PostgreSQL), so on two cores one file at a time left a core
// idle; the tests wait for events, not for times, so a busier machine slows them down without failing them.
const maxWorkers = Math.max(2, availableParallelism())

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summaryReporter.ts"],
    maxWorkers,
    // Isolation is set per pool, for every project using it: the memory project runs in threads, not isolated;
    // the others in forks (the default), isolated, since they spawn processes and change the environment.
    poolOptions: { threads: { isolate: false } },
    projects: [
      {
        test: {
          name: "memory",
          include: ["test/**/*.test.ts"],
          exclude: [
            "test/**/*.int.test.ts",
            "test/**/*.fault.test.ts",
            "test/**/*.conformance.test.ts",
            "node_modules/**"
          ],
          // Worker threads that keep their module cache between files (the threads pool is not isolated: see
          // poolOptions above): each file re-importing effect, the SDK and the store cost 20 of the suite's 50 s.
          // Nothing here keeps global state between files (every store is a layer built per test or per file).
          pool: "threads",
          globalSetup,
          // Hang detectors, not limits: vitest's 5 s default failed property and load tests on a busy machine.
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      },
      {
        // Stops PostgreSQL servers and kills processes: `npm run test:faults`, also run by .ci/run.
        test: {
          name: "faults",
          include: ["test/faults/**/*.fault.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000
        }
      },
      {
        // The MCP conformance suite's runner against `secrets server`: `npm run test:conformance`, run by .ci/run.
        test: {
          name: "conformance",
          include: ["test/**/*.conformance.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 60_000
        }
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.int.test.ts"],
          globalSetup,
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
})
