/**
 * The PostgreSQL backend's face: everything outside src/postgres/ that needs the database comes through here.
 * The store as layers (the repository, the audit log, requests and approvals on a server or the embedded store),
 * the tokens table, and the operator's operations: init, key rotation, key usage, verify, doctor's checks, and the
 * embedded server's status and stop.
 */
export { migrated, sqlStore, storeFrom, type StoreFromOptions } from "./store.js"
export * as Database from "./Database.js"
export * as SqlSecretsRepo from "./SqlRepo.js"
export { layer as tokenStore } from "./tokens.js"
export { backupNotice, resolveKey } from "./FirstRun.js"
export { initialize } from "./admin/init.js"
export * as Rotation from "./admin/rotation.js"
export * as RotateKey from "./admin/rotateKey.js"
export * as Verify from "./admin/verify.js"
export * as KeyUsage from "./admin/keyUsage.js"
export * as Doctor from "./admin/doctor.js"
export * as Embedded from "./embedded/Embedded.js"
export { MIGRATIONS_DIR } from "./Migrations.js"
