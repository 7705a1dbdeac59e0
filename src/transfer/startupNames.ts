/**
 * Variable names a secret must not take on its own when a prefix of secrets becomes an environment (`export
 * dotenv`, `run --prefix`): whoever can write a secret below the prefix (a confined agent) chooses its name, and
 * the operator's deploy (`set -a; . ./.env; node app`) runs with it. `project/x/node_options` = `--require
 * ./payload.js` ran the agent's JavaScript as the operator.
 *
 * Two kinds:
 * - reserved: names the shell sets itself or will not let a file assign (readonly in bash, or reset as it runs).
 *   Sourcing a file that assigns one fails or is undone, so nothing exports them.
 * - startup names: names a shell, the dynamic loader or a language runtime reads when a program starts, to decide
 *   what code it loads, which program runs, or which startup file it sources. Refused unless the operator says
 *   `--allow-startup-names`. Taken from bash 5.2's "Shell Variables", dash's and zsh's manuals, ld.so(8),
 *   `node --help`'s environment section, python(1), perlrun, ruby(1), the JDK's launcher, the .NET host, `go help
 *   environment`, git(1), and the tools that run a program named in a variable (EDITOR, PAGER, ...).
 *
 * Not refused: names that change where programs connect or whom they trust (`HTTPS_PROXY`, `SSL_CERT_FILE`,
 * `NODE_EXTRA_CA_CERTS`): deploys set them on purpose, and they run no code of their own.
 */

const words = (text: string) => new Set(text.trim().split(/\s+/))

const RESERVED = words(`
  _ BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND BASH_EXECUTION_STRING
  BASH_LINENO BASH_REMATCH BASH_SOURCE BASH_SUBSHELL BASH_VERSINFO BASH_VERSION COMPREPLY COPROC DIRSTACK
  EPOCHREALTIME EPOCHSECONDS EUID FUNCNAME GROUPS HISTCMD HOSTTYPE LINENO MACHTYPE MAPFILE OLDPWD OPTARG OPTERR
  OPTIND OSTYPE PIPESTATUS PPID PWD RANDOM REPLY SECONDS SHELLOPTS SHLVL SRANDOM UID`)

const RESERVED_PREFIXES = ["COMP_", "READLINE_"]

/** The startup names one by one; docs/cli.md lists each (test/docs/startupNames.test.ts). */
export const STARTUP: ReadonlySet<string> = words(`
  CDPATH ENV FCEDIT HISTFILE HISTSIZE HOME IFS LANG LANGUAGE MAIL MAILCHECK MAILPATH NLSPATH PATH POSIXLY_CORRECT
  PS0 PS1 PS2 PS3 PS4 PROMPT_COMMAND PROMPT_DIRTRIM SHELL TERM TMPDIR TMOUT CHILD_MAX COLUMNS LINES EMACS
  EXECIGNORE FIGNORE FUNCNEST GLOBIGNORE HISTCONTROL HISTFILESIZE HISTIGNORE HISTTIMEFORMAT HOSTFILE HOSTNAME
  IGNOREEOF INPUTRC INSIDE_EMACS TIMEFORMAT
  ZDOTDIR FPATH MODULE_PATH PROMPT PROMPT2 PROMPT3 PROMPT4 RPROMPT RPROMPT2 RPS1 RPS2 SPROMPT
  GCONV_PATH GLIBC_TUNABLES LOCPATH HOSTALIASES RESOLV_HOST_CONF
  NODE_OPTIONS NODE_PATH NODE_REPL_EXTERNAL_MODULE
  PERL5OPT PERL5LIB PERLLIB PERL5DB PERL5SHELL
  RUBYOPT RUBYLIB GEM_HOME GEM_PATH
  JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS JAVA_OPTS CLASSPATH MAVEN_OPTS GRADLE_OPTS
  DOTNET_STARTUP_HOOKS DOTNET_ADDITIONAL_DEPS
  GOFLAGS GOTOOLCHAIN GOENV GODEBUG
  GIT_SSH GIT_SSH_COMMAND GIT_ASKPASS GIT_EDITOR GIT_SEQUENCE_EDITOR GIT_PAGER GIT_EXEC_PATH GIT_EXTERNAL_DIFF
  GIT_PROXY_COMMAND GIT_TEMPLATE_DIR GIT_DIR
  OPENSSL_CONF OPENSSL_ENGINES OPENSSL_MODULES
  PHPRC PHP_INI_SCAN_DIR R_PROFILE R_PROFILE_USER R_ENVIRON R_ENVIRON_USER
  EDITOR VISUAL PAGER MANPAGER LESSOPEN LESSCLOSE BROWSER SSH_ASKPASS SUDO_ASKPASS XDG_CONFIG_HOME`)

/**
 * Whole families: bash's own (`BASH_ENV`, `BASH_XTRACEFD`), locale, the dynamic loader's (Linux and macOS),
 * Python's (`PYTHONPATH`, `PYTHONSTARTUP`, 3.13's `PYTHON_PRESITE`), .NET's profiler, git's configuration given in
 * the environment (`GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_0`, ...), npm's configuration (`NPM_CONFIG_NODE_OPTIONS`,
 * `NPM_CONFIG_SCRIPT_SHELL`), Lua's `LUA_INIT` (runs code) and module paths.
 */
export const STARTUP_PREFIXES: ReadonlyArray<string> = [
  "BASH_",
  "LC_",
  "LD_",
  "DYLD_",
  "PYTHON",
  "CORECLR_",
  "GIT_CONFIG",
  "NPM_CONFIG_",
  "LUA_INIT",
  "LUA_PATH",
  "LUA_CPATH"
]

export type NameKind = "reserved" | "startup"

/** Whether `name` (an environment variable's, as exported: upper case) is reserved, a startup name, or neither. */
export const kindOf = (name: string): NameKind | undefined => {
  if (RESERVED.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p))) return "reserved"
  if (STARTUP.has(name) || STARTUP_PREFIXES.some((p) => name.startsWith(p))) return "startup"
  return undefined
}

/**
 * Why `name` is refused, for a message that lists several; undefined when it is neither kind, or a startup name
 * the operator allowed (`--allow-startup-names`).
 */
export const startupRefusal = (name: string, allowStartupNames = false): string | undefined => {
  const kind = kindOf(name)
  if (kind === "reserved")
    return `its name ${name} is one the shell sets itself (sourcing the file would fail or be undone)`
  if (kind === "startup" && !allowStartupNames) {
    return (
      `its name ${name} changes how the shell or programs started with it run (the code they load, the program or ` +
      `startup file they run; --allow-startup-names allows it)`
    )
  }
  return undefined
}
