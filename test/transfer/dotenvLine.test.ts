/**
 * The export's `.env` lines, in process: every line `formatLine` writes is read back exactly by dotenv and by
 * the import's parser, alone and among other lines; what it refuses, it refuses with a reason that never
 * quotes the value; names the shell acts on are refused. Sourcing by real shells: test/hostile/dotenvExport.
 */
import { describe, expect, it } from "@effect/vitest"
import * as dotenv from "dotenv"
import { Either } from "effect"
import * as fc from "fast-check"
import { parse } from "../../src/transfer/dotenv.js"
import { formatLine, nameRefusal } from "../../src/transfer/dotenvLine.js"

const imported = (text: string) =>
  Either.map(parse("out.env", text), (entries) => Object.fromEntries(entries.map((e) => [e.name, e.value])))

const nasty = fc.string({
  unit: fc.constantFrom("'", '"', "`", "$", "\\", "n", "r", "\n", "\r", "#", " ", "\t", "=", "a", "\u2028", "\uFEFF"),
  maxLength: 16
})
const anyValue = fc.oneof(nasty, fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 40 }))

describe("formatLine", () => {
  it("writes a line dotenv and the import read back exactly, alone and between other lines", () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const line = formatLine("K", value)
        if (Either.isLeft(line)) return
        expect(dotenv.parse(line.right)).toEqual({ K: value })
        expect(imported(line.right)).toEqual(Either.right({ K: value }))
        const file = `A='#'\n${line.right}\nB='#'\n`
        expect(dotenv.parse(file)).toEqual({ A: "#", K: value, B: "#" })
        expect(imported(file)).toEqual(Either.right({ A: "#", K: value, B: "#" }))
      }),
      { numRuns: 3000 }
    )
  })

  it("writes every value without NUL, CR, a trailing backslash, or ' beside one of \" $ ` \\", () => {
    const carriable = anyValue.filter(
      (v) => !/[\0\r]/.test(v) && !v.endsWith("\\") && !(v.includes("'") && /["$`\\]/.test(v))
    )
    fc.assert(
      fc.property(carriable, (value) => {
        expect(Either.isRight(formatLine("K", value))).toBe(true)
      }),
      {
        numRuns: 2000
      }
    )
  })

  it("single-quotes a value without ', double-quotes one with ' and nothing a shell expands", () => {
    expect(formatLine("K", '$(x) `y` ${z} \\ "')).toEqual(Either.right("K='$(x) `y` ${z} \\ \"'"))
    expect(formatLine("K", "it's\nfine # really")).toEqual(Either.right('K="it\'s\nfine # really"'))
  })

  it.each([
    ["a NUL", "secret\u0000value", "NUL"],
    ["a CR", "secret\r\nvalue", "carriage return"],
    ["a trailing backslash", "secret\\", "backslash"],
    ["' and $", "it's $(secret)", "' together with"],
    ["' and a backtick", "it's `secret`", "' together with"],
    ["' and \"", 'it\'s "secret"', "' together with"],
    ["' and \\", "it's \\secret", "' together with"]
  ])("refuses %s with a reason that does not quote the value", (_, value, reason) => {
    const line = formatLine("K", value)
    expect(Either.isLeft(line)).toBe(true)
    if (Either.isRight(line)) return
    expect(line.left).toContain(reason)
    expect(line.left).not.toContain("secret")
  })
})

describe("nameRefusal", () => {
  it.each(["1PASSWORD", "9", "A-B", "A.B", ""])("refuses %j, not a shell variable name", (name) => {
    expect(nameRefusal(name)).toContain("not a shell variable name")
  })

  // Startup names (issue 19, hole 4): the list, then a few of each family startupNames.ts names.
  const STARTUP = [
    ...["NODE_OPTIONS", "LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_ENV", "ENV", "PATH", "PYTHONPATH", "PYTHONSTARTUP"],
    ...["PERL5OPT", "RUBYOPT", "JAVA_TOOL_OPTIONS", "PROMPT_COMMAND", "IFS", "PS4", "HOME", "LC_ALL", "ZDOTDIR"],
    ...["NODE_PATH", "PYTHON_PRESITE", "PERL5LIB", "RUBYLIB", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH"],
    ...["DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH", "GOFLAGS", "GODEBUG", "GIT_SSH_COMMAND", "GIT_CONFIG_COUNT"],
    ...["GIT_CONFIG_KEY_0", "NPM_CONFIG_NODE_OPTIONS", "DYLD_INSERT_LIBRARIES", "GCONV_PATH", "GLIBC_TUNABLES"],
    ...["OPENSSL_CONF", "LUA_INIT", "EDITOR", "PAGER", "LESSOPEN", "XDG_CONFIG_HOME", "BASH_XTRACEFD"]
  ]
  it.each(STARTUP)("refuses %s, a startup name, unless the operator allows startup names", (name) => {
    expect(nameRefusal(name)).toContain("changes how the shell or programs started with it run")
    expect(nameRefusal(name)).toContain("--allow-startup-names")
    expect(nameRefusal(name, { allowStartupNames: true })).toBeUndefined()
  })

  it.each(["SHELLOPTS", "BASHOPTS", "_", "UID", "EUID", "PPID", "BASH_VERSINFO", "RANDOM", "LINENO", "COMP_LINE"])(
    "refuses %s, which the shell sets itself, even when startup names are allowed",
    (name) => {
      expect(nameRefusal(name)).toContain("the shell sets itself")
      expect(nameRefusal(name, { allowStartupNames: true })).toContain("the shell sets itself")
    }
  )

  it.each([
    ...["STRIPE_API_KEY", "DATABASE_URL", "_TOKEN", "PATHS", "MY_PATH", "A1", "LDAP_URL", "BASHFUL", "NODE_ENV"],
    ...["GITHUB_TOKEN", "GIT_TOKEN", "JAVA_HOME", "HTTPS_PROXY", "EDITORS", "RUBY_VERSION"]
  ])("accepts %s", (name) => {
    expect(nameRefusal(name)).toBeUndefined()
  })
})
