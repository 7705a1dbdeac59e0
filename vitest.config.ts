import { defineConfig } from "vitest/config"

// Projects: `memory` is the fast in-process suite (`npm run test:memory`); `integration` needs
// real processes, the embedded store or PostgreSQL (`TEST_DATABASE_URL`); `faults` stops servers and kills
// processes (`npm run test:faults`); `conformance` runs the MCP conformance suite (`npm run test:conformance`).
// `npm test` runs memory and integration.
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summaryReporter.ts"],
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
          pool: "threads"
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
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      }
    ]
  }
})
