/**
 * The documented commands no test can run here, each with its reason: the one list of them. A command of
 * README.md or docs/*.md that matches no row here is run by `commands.int.test.ts`, and fails it if it does not do
 * what the documentation shows; a row that matches no command any more fails it too, so this list stays true.
 *
 * A row matches a command's text from its start. `restOfBlock`: the commands after it in its block depend on what
 * it made (a checkout of another release), so they cannot run either.
 */
export interface CannotRun {
  readonly command: RegExp
  readonly reason: string
  readonly restOfBlock?: true
}

export const CANNOT_RUN: ReadonlyArray<CannotRun> = [
  {
    command: /^claude mcp add /,
    reason: "registers the server with Claude Code, which tests do not install, and changes that client's configuration"
  },
  {
    command: /^npm ci\b/,
    reason: "reinstalls node_modules from the registry (the network), under the tests that are running from it"
  },
  {
    command: /^npm start\b/,
    reason:
      "serves MCP on stdio in the checkout until its client leaves; test/mcp/startup.int.test.ts runs it under the " +
      "SDK's client and checks that stdout is protocol only"
  },
  {
    command: /^(npm test|npm run test:\w+|\.ci\/run)\b/,
    reason: "runs the test suite, this test among them (minutes, and recursive)"
  },
  {
    command: /^secrets server( --listen \S+)?\s*(#.*)?$/,
    reason:
      "serves MCP over HTTP until it is stopped; test/server/process.int.test.ts starts it, calls it and stops it " +
      "with SIGTERM"
  },
  {
    command: /^sudo /,
    reason:
      "installs into, or runs as the server user of, this machine's /etc, /var/lib and systemd as root; " +
      "test/deploy/install.int.test.ts and test/deploy/migrate.int.test.ts run the same commands into a scratch root"
  },
  {
    command: /^npm run bench(:\w+)?\b/,
    reason: "benchmarks take minutes on the local PostgreSQL server; no benchmark runs in the test suite"
  },
  {
    command: /^git clone </,
    reason: "clones and builds the previous release (npm ci: the network) to copy an old store from",
    restOfBlock: true
  },
  {
    command: /^\$EDITOR\b/,
    reason: "a person edits the file; the commands before and after it run"
  }
]

export const cannotRun = (text: string): CannotRun | undefined => CANNOT_RUN.find((row) => row.command.test(text))
