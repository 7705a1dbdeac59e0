/**
 * The systemd unit of `secrets server`, as text. Each hardening line was weighed against what the process and the
 * embedded PostgreSQL it supervises need: postgres forks, uses System V and POSIX shared memory (/dev/shm, which
 * PrivateDevices keeps) and a Unix socket in the data directory; Node's JIT needs memory both writable and
 * executable, so MemoryDenyWriteExecute is left out. A system call outside @system-service fails with EPERM rather
 * than killing the process: Node and libuv fall back when a newer call (io_uring) is refused. RemoveIPC is left out:
 * root's own embedded stores run their PostgreSQL as the same `secrets-mcp` user, and it would remove their
 * shared memory when this unit stops. `systemd-analyze security` rates the unit 1.7 ("OK").
 */
import * as path from "node:path"
import type { Store } from "./environment.js"
import { type Layout, SERVICE } from "./Layout.js"

export interface UnitOptions {
  readonly layout: Layout
  readonly user: string
  readonly store: Store
  /** The Node binary and `dist/cli.js`, resolved (no links). */
  readonly node: string
  readonly cli: string
}

/** Directories that ProtectHome=yes would hide. */
const HOMES = ["/home", "/root", "/run/user"]
const inHome = (file: string) => HOMES.some((home) => file === home || file.startsWith(`${home}/`))

/** systemd's quoting for a path in ExecStart and the path lists: double quotes when it holds a space. */
const word = (text: string) => (/[\s"\\]/.test(text) ? `"${text.replace(/(["\\])/g, "\\$1")}"` : text)

export const render = (options: UnitOptions): string => {
  const { layout, store, user, node, cli } = options
  const checkout = path.dirname(path.dirname(cli))
  // The program under a home (nvm, a checkout in ~): hide the homes all the same, and show only the program.
  const shown = [path.dirname(node), checkout].filter(inHome)
  const embedded = store._tag === "Embedded"
  const lines = [
    `# Written by \`secrets server install\`; a later run rewrites it when it differs. Put local changes in a`,
    `# drop-in (systemctl edit ${SERVICE}), which the install leaves alone.`,
    "[Unit]",
    "Description=secrets-mcp server: the MCP tools over Streamable HTTP, holding the store's key",
    `Documentation=file://${path.join(checkout, "docs", "operations.md")}`,
    ...(embedded
      ? ["After=network.target"]
      : ["Wants=network-online.target", "After=network-online.target postgresql.service"]),
    "",
    "[Service]",
    "Type=simple",
    `User=${user}`,
    `Group=${user}`,
    `EnvironmentFile=${word(layout.envFile)}`,
    `ExecStart=${word(node)} ${word(cli)} server`,
    // SIGTERM to the server alone: it drains (up to 10 s) and closes the store; then its embedded PostgreSQL is
    // stopped cleanly, rather than signalled at the same moment as the server with calls still in flight.
    "KillMode=mixed",
    ...(embedded ? [`ExecStopPost=${word(node)} ${word(cli)} embedded stop`] : []),
    "TimeoutStopSec=30s",
    "Restart=on-failure",
    "RestartSec=2s",
    "UMask=0077",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ReadWritePaths=${word(layout.stateDir)}`,
    ...(shown.length === 0
      ? ["ProtectHome=yes"]
      : ["ProtectHome=tmpfs", `BindReadOnlyPaths=${shown.map(word).join(" ")}`]),
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "PrivateMounts=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    // Other users' processes are invisible to the server (and so are the agents').
    "ProtectProc=invisible",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "CapabilityBoundingSet=",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallErrorNumber=EPERM",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    ""
  ]
  return lines.join("\n")
}
