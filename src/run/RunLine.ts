/**
 * The `secrets run` command line that passes one secret to a command without showing it: what a front end tells
 * a caller that may use a secret but not see it (`RevealDenied`).
 */

/** The variable a secret goes into: its last segment, uppercased, `.` and `-` as `_` (`database_url` → `DATABASE_URL`). */
export const envNameFor = (keyPath: string): string => {
  const name = (keyPath.split("/").at(-1) ?? "").replace(/[.-]/g, "_").toUpperCase()
  return /^[A-Z_]/.test(name) ? name : `_${name}`
}

/**
 * e.g. `secrets run --env DATABASE_URL=project/consilio/database_url -- <command>`; for a prefix (`project/consilio/`,
 * as `export dotenv` is refused for), `secrets run --prefix project/consilio -- <command>`.
 */
export const runLineFor = (keyPath: string): string =>
  keyPath.endsWith("/")
    ? `secrets run --prefix ${keyPath.replace(/\/+$/, "")} -- <command>`
    : `secrets run --env ${envNameFor(keyPath)}=${keyPath} -- <command>`
