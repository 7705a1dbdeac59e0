/**
 * Reads a file the user names (a key file, a file to import) with a ceiling on its size, checked while reading:
 * `stat` cannot be trusted for that (`/dev/zero` and pipes such as `<(cat file)` report size 0), so at most
 * `maxBytes + 1` bytes are ever read, and one byte more than the ceiling fails without reading on.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"

export type ReadProblem = { readonly _tag: "Unreadable" } | { readonly _tag: "TooLarge"; readonly maxBytes: number }

const CHUNK = 64 * 1024

export const readBounded = (file: string, maxBytes: number): Effect.Effect<Buffer, ReadProblem> =>
  Effect.tryPromise({
    try: async () => {
      const handle = await fs.open(file, "r")
      try {
        const chunks: Array<Buffer> = []
        let total = 0
        for (;;) {
          const buffer = Buffer.alloc(Math.min(CHUNK, maxBytes + 1 - total))
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
          if (bytesRead === 0) return { ok: Buffer.concat(chunks, total) }
          chunks.push(buffer.subarray(0, bytesRead))
          total += bytesRead
          if (total > maxBytes) return { tooLarge: true as const }
        }
      } finally {
        await handle.close()
      }
    },
    catch: (): ReadProblem => ({ _tag: "Unreadable" })
  }).pipe(
    Effect.flatMap((result) =>
      "ok" in result ? Effect.succeed(result.ok) : Effect.fail({ _tag: "TooLarge", maxBytes } as const)
    )
  )

/** Describes a problem in words, for an error's reason. */
export const describeReadProblem = (problem: ReadProblem): string =>
  problem._tag === "Unreadable" ? "the file cannot be read" : `it is larger than ${problem.maxBytes} bytes`
