/**
 * Whether two values are equal, without revealing either: compared inside this process, in constant time over their
 * SHA-256 digests (so neither the position of the first difference nor the lengths show in the timing). Only the
 * answer leaves.
 */
import { Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (value: Redacted.Redacted<string>): Buffer =>
  createHash("sha256").update(Redacted.value(value), "utf8").digest()

export const sameValue = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string>): boolean =>
  timingSafeEqual(digest(a), digest(b))
