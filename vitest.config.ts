import { defineConfig } from "vitest/config"

// Projects: `memory` is the fast in-process suite (`npm run test:memory`, a few seconds); `integration` needs
// real processes, the embedded store or PostgreSQL (`TEST_DATABASE_URL`); `faults` stops servers and kills
// processes (`npm run test:faults`). `npm test` runs memory and integration.
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summaryReporter.ts"],
    projects: [
      {
        test: {
          name: "memory",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.int.test.ts", "test/**/*.fault.test.ts", "node_modules/**"]
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
