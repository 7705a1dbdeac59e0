/**
 * Where things live in the data directory (`SECRETS_DATA_DIR`):
 *
 *   cluster/             the PostgreSQL cluster (initdb), with its socket `.s.PGSQL.5432` and `postmaster.pid`
 *   cluster.init-<pid>-* a cluster being created, renamed to `cluster/` when complete (atomic)
 *   postgres.log         the server's and its supervisor's log (never statements or values)
 *   supervisor.json      the running supervisor: its pid and idle limit
 *
 * A data directory of the previous embedded format (PGlite) holds `pgdata/PG_VERSION` instead.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export const PORT = 5432
/** The database role every client uses; peer authentication decides which OS users may take it. */
export const ROLE = "secrets"
export const DATABASE = "postgres"
/** The supervisor's own connection, which `embedded status` does not count as a client. */
export const WATCHDOG_NAME = "secrets-mcp supervisor"

export const clusterDir = (dataDir: string) => path.join(dataDir, "cluster")
export const socketFile = (dataDir: string) => path.join(clusterDir(dataDir), `.s.PGSQL.${PORT}`)
export const logFile = (dataDir: string) => path.join(dataDir, "postgres.log")
export const supervisorFile = (dataDir: string) => path.join(dataDir, "supervisor.json")
export const INIT_PREFIX = "cluster.init-"

/** True when `dataDir` holds a cluster of this format. */
export const clusterExists = (dataDir: string): boolean => fs.existsSync(path.join(clusterDir(dataDir), "PG_VERSION"))

/** True when `dataDir` holds a store of the previous embedded format (PGlite), which this version refuses. */
export const isPreviousFormat = (dataDir: string): boolean => fs.existsSync(path.join(dataDir, "pgdata", "PG_VERSION"))

/** node-postgres and PostgreSQL both refuse a socket path longer than this (sun_path, 108 bytes with the NUL). */
export const MAX_SOCKET_PATH = 107
