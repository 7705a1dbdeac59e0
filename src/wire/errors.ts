/**
 * Every typed error as it crosses the wire between `secrets server` and a CLI in client mode: the error's own
 * schema (each is a `Schema.TaggedError`), so the client gets the same class back, with its `_tag`, its fields,
 * its message and so its exit code (`NotFound` is 3 on either side). Collected from domain/errors.ts (which holds the area files of domain/errors/)
 * (`ApprovalRequired` must reach a client-mode `get` with its approval id), so a new error there crosses without a
 * change here; test/wire/errors.test.ts checks every tag the exit codes know round-trips.
 */
import { Schema } from "effect"
import * as Errors from "../domain/errors.js"
import * as RequestErrors from "../domain/errors/requests.js"

const isErrorSchema = (value: unknown): value is Schema.Schema.Any =>
  typeof value === "function" && Schema.isSchema(value) && (value as { prototype: unknown }).prototype instanceof Error

const classes: ReadonlyArray<Schema.Schema.Any> = (
  [...Object.values(Errors), ...Object.values(RequestErrors)] as ReadonlyArray<unknown>
).filter(isErrorSchema)

/** The tags the wire carries (a test checks they are every tag the CLI's exit codes know). */
export const WIRE_ERROR_TAGS: ReadonlyArray<string> = classes.map((c) => (c as unknown as { _tag: string })._tag)

/** Any domain error, encoded as `{ _tag, ...fields }`. */
export const WireError = Schema.Union(...classes) as unknown as Schema.Schema<
  Errors.DomainError | RequestErrors.RequestError,
  { readonly _tag: string },
  never
>
