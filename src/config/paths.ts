/**
 * Where the store keeps things on this machine when nothing else is configured, following the XDG
 * base directory convention: data in `$XDG_DATA_HOME/secrets-mcp`, the key in `$XDG_CONFIG_HOME/secrets-mcp/key`.
 */
import { Config } from "effect"
import * as os from "node:os"
import * as path from "node:path"

/** The user's home directory: `$HOME`, else the system's idea of it. */
export const home = Config.string("HOME").pipe(Config.withDefault(os.homedir()))

const xdg = (name: string, fallback: ReadonlyArray<string>) =>
  Config.string(name).pipe(
    Config.orElse(() => home.pipe(Config.map((h) => path.join(h, ...fallback)))),
    Config.map((dir) => path.join(dir, "secrets-mcp"))
  )

/** `$XDG_DATA_HOME/secrets-mcp`, else `~/.local/share/secrets-mcp`. */
export const defaultDataDir = xdg("XDG_DATA_HOME", [".local", "share"])

/** `$XDG_CONFIG_HOME/secrets-mcp/key`, else `~/.config/secrets-mcp/key`. */
export const defaultKeyFile = xdg("XDG_CONFIG_HOME", [".config"]).pipe(Config.map((dir) => path.join(dir, "key")))

/** `$XDG_CONFIG_HOME/secrets-mcp/token`, else `~/.config/secrets-mcp/token`: client mode's bearer token. */
export const defaultTokenFile = xdg("XDG_CONFIG_HOME", [".config"]).pipe(Config.map((dir) => path.join(dir, "token")))
