import { defineConfig } from "vitest/config"

// Two projects: `memory` is the fast in-process suite (`npm run test:memory`, a few seconds);
// `integration` needs real processes, the embedded store or PostgreSQL (`TEST_DATABASE_URL`).
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summaryReporter.ts"],
    projects: [
      {
        test: {
          name: "memory",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.int.test.ts", "node_modules/**"]
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
