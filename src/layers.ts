/**
 * The layer graph: the store is the memory backend or the PostgreSQL one (src/postgres, behind its face), each with
 * its Crypto layer beneath it. `StoreLive` reads which from the environment.
 */
import { Effect, Layer } from "effect"
import * as MemoryApprovals from "./approvals/memory.js"
import type { ApprovalStore } from "./approvals/ApprovalStore.js"
import type { AuditLog } from "./audit/AuditLog.js"
import * as Settings from "./config/Settings.js"
import { DEFAULT_REPO_OPTIONS, type RepoOptions } from "./config/StoreConfig.js"
import type * as Crypto from "./crypto/Crypto.js"
import { storeFrom } from "./postgres/index.js"
import * as MemoryRepo from "./repo/Memory.js"
import type { SecretsRepo } from "./repo/SecretsRepo.js"
import * as MemoryRequests from "./requests/memory.js"
import type { RequestStore } from "./requests/RequestStore.js"

export { migrated, sqlStore, storeFrom, type StoreFromOptions } from "./postgres/index.js"

/** Everything from the environment: key, database (`DATABASE_URL` or embedded), migrations, key check. */
export const StoreLive = Layer.unwrapEffect(Effect.map(Settings.load(), (settings) => storeFrom(settings)))

/**
 * In memory, with a given key: fast tests and programs that need no persistence
 * (`memoryStore(CryptoLayers.layer(hexKey))`, which fails with `InvalidKey` for a key that is not 64 hex characters).
 */
export const memoryStore = <E = never>(
  crypto: Layer.Layer<Crypto.Crypto, E>,
  repo: RepoOptions = DEFAULT_REPO_OPTIONS
): Layer.Layer<SecretsRepo | AuditLog | RequestStore | ApprovalStore | Crypto.Crypto, E> =>
  Layer.mergeAll(MemoryRepo.layer(repo), MemoryRequests.layer, MemoryApprovals.layer).pipe(Layer.provideMerge(crypto))
