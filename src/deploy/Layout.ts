/**
 * Where `secrets server install` puts the deployment in which agents run as other OS users than the server:
 *
 *   /etc/secrets-mcp/               root 0700: the server's configuration, readable by root alone
 *     server.env                    root 0600: the unit's EnvironmentFile (DATABASE_URL may hold a password)
 *   /var/lib/secrets-mcp/           the server's user 0700: everything the server writes (ReadWritePaths)
 *     key                           its 0600: the master key (rotate-key through the server rewrites it here)
 *     store/                        its 0700: the embedded store's data directory (none with DATABASE_URL)
 *     cache/                        its 0700: V8's code cache (XDG_CACHE_HOME)
 *   /etc/systemd/system/secrets-mcp.service   root 0644
 *   ~operator/.config/secrets-mcp/token       the operator's 0600, in a 0700 directory
 *
 * The key lives in the state directory, not /etc: ProtectSystem=strict leaves the server only ReadWritePaths to
 * write, and `rotate-key` replaces the key file by a rename in its directory. `--root DIR` puts every path under
 * DIR, the paths written into the unit and the environment file included, so a scratch install is a working
 * deployment of its own (the tests run it); the users are the machine's.
 */
import * as path from "node:path"

/** The unit's name and the server's user unless `--user` names another. */
export const SERVICE = "secrets-mcp"

export interface Layout {
  /** "" for the real system, else the scratch root every path is under. */
  readonly root: string
  readonly configDir: string
  readonly envFile: string
  readonly stateDir: string
  readonly keyFile: string
  readonly dataDir: string
  readonly cacheDir: string
  readonly unitFile: string
}

export const layout = (root: string): Layout => {
  const under = (...parts: ReadonlyArray<string>) => path.join(root === "" ? "/" : root, ...parts)
  const stateDir = under("var", "lib", SERVICE)
  const configDir = under("etc", SERVICE)
  return {
    root,
    configDir,
    envFile: path.join(configDir, "server.env"),
    stateDir,
    keyFile: path.join(stateDir, "key"),
    dataDir: path.join(stateDir, "store"),
    cacheDir: path.join(stateDir, "cache"),
    unitFile: under("etc", "systemd", "system", `${SERVICE}.service`)
  }
}

/** The operator's token file: where client mode looks by default (`SECRETS_TOKEN_FILE`), under the root. */
export const tokenFile = (root: string, home: string): string =>
  path.join(root === "" ? "/" : root, home, ".config", SERVICE, "token")

/**
 * The directories from the root's top down to `dir` that the install creates when missing (root 0755) but never
 * changes: /etc, /var/lib and the like belong to the system.
 */
export const systemParents = (root: string, dir: string): ReadonlyArray<string> => {
  const top = root === "" ? "/" : root
  const relative = path.relative(top, dir)
  if (relative === "" || relative.startsWith("..")) return []
  const parts = relative.split(path.sep)
  return parts.slice(0, -1).map((_, i) => path.join(top, ...parts.slice(0, i + 1)))
}
