/** What `secrets embedded status` shows: read from `postmaster.pid` and, when it runs, asked of the server. */
import pg from "pg"
import {
  clusterDir,
  clusterExists,
  DATABASE,
  isPreviousFormat,
  PORT,
  ROLE,
  socketFile,
  supervisorFile,
  WATCHDOG_NAME
} from "./layout.js"
import { readText } from "./files.js"
import { running } from "./postmaster.js"

export interface Status {
  readonly dataDir: string
  readonly state: "running" | "starting" | "stopping" | "stopped" | "not created" | "previous format"
  readonly pid?: number | undefined
  readonly socket: string
  /** `SHOW server_version` when it runs, else the cluster's major version. */
  readonly version?: string | undefined
  /** Client sessions, this one not counted; undefined when the server could not be asked. */
  readonly clients?: number | undefined
  /** The idle limit its supervisor stops it after (ms; 0: never), and the supervisor's pid. */
  readonly idleMs?: number | undefined
  readonly supervisorPid?: number | undefined
}

const ask = async (dataDir: string) => {
  const client = new pg.Client({
    host: clusterDir(dataDir),
    port: PORT,
    user: ROLE,
    database: DATABASE,
    application_name: "secrets-mcp status",
    connectionTimeoutMillis: 5_000
  })
  client.on("error", () => {})
  try {
    await client.connect()
    const result = await client.query<{ version: string; clients: number }>(
      "SELECT current_setting('server_version') AS version, (SELECT count(*)::int FROM pg_stat_activity " +
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> $1) AS clients",
      [WATCHDOG_NAME]
    )
    return result.rows[0]
  } catch {
    return undefined
  } finally {
    await client.end().catch(() => {})
  }
}

const supervisor = (dataDir: string) => {
  try {
    return JSON.parse(readText(supervisorFile(dataDir)) ?? "") as { pid?: number; idleMs?: number }
  } catch {
    return undefined
  }
}

export const status = async (dataDir: string): Promise<Status> => {
  const socket = socketFile(dataDir)
  if (isPreviousFormat(dataDir)) return { dataDir, state: "previous format", socket }
  if (!clusterExists(dataDir)) return { dataDir, state: "not created", socket }
  const server = running(dataDir)
  const major = readText(`${clusterDir(dataDir)}/PG_VERSION`)?.trim()
  if (server === undefined) return { dataDir, state: "stopped", socket, version: major }
  const state = server.status === "ready" ? "running" : server.status === "stopping" ? "stopping" : "starting"
  const answer = state === "running" ? await ask(dataDir) : undefined
  const watcher = supervisor(dataDir)
  return {
    dataDir,
    state,
    pid: server.pid,
    socket,
    version: answer?.version ?? major,
    clients: answer?.clients,
    idleMs: watcher?.idleMs,
    supervisorPid: watcher?.pid
  }
}
