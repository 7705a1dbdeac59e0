/**
 * Principals and grants: parsing SECRETS_PRINCIPAL / SECRETS_GRANTS, and `may`, which decides every tool
 * call. Prefixes match whole path segments only.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Principal from "../../src/auth/Principal.js"
import { InvalidConfig } from "../../src/domain/errors.js"
import { parseKeyPathSync } from "../../src/domain/KeyPath.js"

const principal = (name: string, grants = "", reveal: Principal.RevealPolicy = "readable") =>
  Either.getOrThrow(Principal.make(name, grants, reveal))

const refused = (name: string, grants = "") => {
  const result = Principal.make(name, grants)
  if (Either.isRight(result)) throw new Error(`${name} / ${grants} was accepted`)
  return result.left
}

describe("Principal.make", () => {
  it("parses meta, project:<name> and service:<name>, keeping the configured name", () => {
    expect(principal("meta").name).toBe("meta")
    expect(principal("project:consilio").name).toBe("project:consilio")
    expect(principal("service:penpot").name).toBe("service:penpot")
    expect(principal("project:a.b_c-1").name).toBe("project:a.b_c-1")
  })

  it("gives a project or service principal write access to its own subtree", () => {
    expect(principal("project:foo").grants).toContainEqual({ access: "write", segments: ["project", "foo"], own: true })
    expect(principal("service:foo").grants).toContainEqual({ access: "write", segments: ["service", "foo"], own: true })
  })

  it("reads the scope word in any case and records it in lowercase", () => {
    expect(principal("Meta").name).toBe("meta")
    expect(principal("Project:foo").grants).toContainEqual({ access: "write", segments: ["project", "foo"], own: true })
  })

  it.each(["admin", "project:", "project:Bad", "service:", "team:foo", "project:foo/bar", "Metadata", ""])(
    "rejects the principal %j with InvalidConfig naming SECRETS_PRINCIPAL",
    (name) => {
      const error = refused(name)
      expect(error).toBeInstanceOf(InvalidConfig)
      expect(error.variable).toBe("SECRETS_PRINCIPAL")
      expect(error.message).toContain("meta, project:<name> or service:<name>")
      if (name === "project:Bad") expect(error.message).toContain("did you mean project:bad?")
    }
  )

  it.each(["read:", "delete:meta/x", "read:Meta/x", "write", "read:/", "read:meta/../x", "read:meta/ x"])(
    "rejects the grant %j with InvalidConfig naming SECRETS_GRANTS",
    (grant) => {
      for (const name of ["meta", "project:foo"]) {
        const error = refused(name, `read:meta/openai/,${grant}`)
        expect(error).toBeInstanceOf(InvalidConfig)
        expect(error.variable).toBe("SECRETS_GRANTS")
        expect(error.message).toContain("use:<prefix>, read:<prefix> or write:<prefix>")
      }
    }
  )

  it("parses a comma list of grants, ignoring blanks and surrounding spaces", () => {
    const p = principal("project:foo", " read:meta/openai/ , ,write:service/shared, use:meta/gcloud/")
    expect(p.grants).toEqual([
      { access: "write", segments: ["project", "foo"], own: true },
      { access: "read", segments: ["meta", "openai"], own: false },
      { access: "write", segments: ["service", "shared"], own: false },
      { access: "use", segments: ["meta", "gcloud"], own: false }
    ])
  })
})

describe("Principal.may", () => {
  it("meta reads and writes everything", () => {
    const meta = principal("meta")
    for (const keyPath of ["meta/x/y", "project/foo/a", "service/bar/b/c"]) {
      expect(Principal.may(meta, "read", keyPath)).toBe(true)
      expect(Principal.may(meta, "write", keyPath)).toBe(true)
    }
  })

  it("project:foo reads and writes project/foo/... only", () => {
    const foo = principal("project:foo")
    for (const access of ["read", "write"] as const) {
      expect(Principal.may(foo, access, "project/foo/stripe_api_key")).toBe(true)
      expect(Principal.may(foo, access, "project/foo/stripe/live_key")).toBe(true)
      expect(Principal.may(foo, access, "project/foo-evil/x")).toBe(false)
      expect(Principal.may(foo, access, "project/foobar/x")).toBe(false)
      expect(Principal.may(foo, access, "project/fo/x")).toBe(false)
      expect(Principal.may(foo, access, "meta/foo/x")).toBe(false)
      expect(Principal.may(foo, access, "meta/x/y")).toBe(false)
      expect(Principal.may(foo, access, "service/foo/x")).toBe(false)
    }
  })

  it("service:foo reads and writes service/foo/... only", () => {
    const foo = principal("service:foo")
    for (const access of ["read", "write"] as const) {
      expect(Principal.may(foo, access, "service/foo/admin_password")).toBe(true)
      expect(Principal.may(foo, access, "service/foo-evil/x")).toBe(false)
      expect(Principal.may(foo, access, "service/foobar/x")).toBe(false)
      expect(Principal.may(foo, access, "project/foo/x")).toBe(false)
      expect(Principal.may(foo, access, "meta/foo/x")).toBe(false)
    }
  })

  it("a read grant allows reading below its prefix, never writing, and only whole segments", () => {
    const foo = principal("project:foo", "read:meta/openai/")
    expect(Principal.may(foo, "read", "meta/openai/api_key")).toBe(true)
    expect(Principal.may(foo, "write", "meta/openai/api_key")).toBe(false)
    expect(Principal.may(foo, "read", "meta/openaix/key")).toBe(false)
    expect(Principal.may(foo, "read", "meta/open/key")).toBe(false)
    expect(Principal.may(foo, "read", "meta/other/key")).toBe(false)
  })

  it("a use grant allows using (and listing) below its prefix, never reading or writing", () => {
    const foo = principal("project:foo", "use:meta/openai/")
    expect(Principal.may(foo, "use", "meta/openai/api_key")).toBe(true)
    expect(Principal.may(foo, "read", "meta/openai/api_key")).toBe(false)
    expect(Principal.may(foo, "write", "meta/openai/api_key")).toBe(false)
    expect(Principal.may(foo, "use", "meta/openaix/key")).toBe(false)
    expect(Principal.readablePrefixes(foo)).toEqual(["project/foo/", "meta/openai/"])
    // A secret it generates there counts against that prefix's quota.
    expect(Principal.quotaPrefix(foo, "meta/openai/new")).toBe("meta/openai/")
  })

  it("quotaPrefix: the narrowest write grant wins over a narrower use grant; meta has no quota", () => {
    const foo = principal("project:foo", "use:project/foo/sub/,use:meta/openai/keys/,read:meta/openai/")
    expect(Principal.quotaPrefix(foo, "project/foo/sub/x")).toBe("project/foo/")
    expect(Principal.quotaPrefix(foo, "meta/openai/keys/x")).toBe("meta/openai/keys/")
    expect(Principal.quotaPrefix(foo, "meta/other/x")).toBeUndefined()
    expect(Principal.quotaPrefix(principal("meta", "use:meta/openai/"), "meta/openai/x")).toBeUndefined()
  })

  it("read implies use; write implies read and use", () => {
    const foo = principal("project:foo", "read:meta/openai/")
    expect(Principal.may(foo, "use", "meta/openai/api_key")).toBe(true)
    for (const access of ["use", "read", "write"] as const) {
      expect(Principal.may(foo, access, "project/foo/x")).toBe(true)
    }
  })

  it("a write grant implies read", () => {
    const foo = principal("project:foo", "write:service/shared/")
    expect(Principal.may(foo, "write", "service/shared/token")).toBe(true)
    expect(Principal.may(foo, "read", "service/shared/token")).toBe(true)
    expect(Principal.may(foo, "read", "service/sharedx/token")).toBe(false)
  })

  it.each(["read:meta/openai", "read:meta/openai/"])(
    "the grant %j, with or without the trailing slash, matches whole segments only",
    (grant) => {
      const foo = principal("project:foo", grant)
      expect(Principal.may(foo, "read", "meta/openai/api_key")).toBe(true)
      expect(Principal.may(foo, "read", "meta/openai/org/id")).toBe(true)
      expect(Principal.may(foo, "read", "meta/openaix/key")).toBe(false)
      expect(Principal.may(foo, "read", "meta/openai-evil/key")).toBe(false)
    }
  )

  it("a grant naming one secret covers that secret, not its siblings", () => {
    const foo = principal("project:foo", "read:meta/openai/api_key")
    expect(Principal.may(foo, "read", "meta/openai/api_key")).toBe(true)
    expect(Principal.may(foo, "read", "meta/openai/api_key2")).toBe(false)
    expect(Principal.may(foo, "read", "meta/openai/org")).toBe(false)
  })
})

describe("Principal.authorize", () => {
  it.effect("fails with PermissionDenied naming the principal, the access and the path", () =>
    Effect.gen(function* () {
      const foo = principal("project:foo")
      yield* Principal.authorize(foo, "write", parseKeyPathSync("project/foo/x").keyPath)
      const error = yield* Effect.flip(Principal.authorize(foo, "read", parseKeyPathSync("meta/x/y").keyPath))
      expect(error).toMatchObject({ _tag: "PermissionDenied", principal: "project:foo", access: "read" })
      expect(error.keyPath).toBe("meta/x/y")
      expect(error.message).toContain("SECRETS_GRANTS")
    })
  )
})

describe("Principal.authorizeGenerate", () => {
  it.effect("creating needs use (a value nobody sees), replacing needs write", () =>
    Effect.gen(function* () {
      const foo = principal("project:foo", "use:meta/openai/")
      const path = parseKeyPathSync("meta/openai/new_key").keyPath
      yield* Principal.authorizeGenerate(foo, path, false)
      const replace = yield* Effect.flip(Principal.authorizeGenerate(foo, path, true))
      expect(replace).toMatchObject({ _tag: "PermissionDenied", access: "write", keyPath: "meta/openai/new_key" })
      const outside = yield* Effect.flip(Principal.authorizeGenerate(foo, parseKeyPathSync("meta/x/y").keyPath, false))
      expect(outside).toMatchObject({ _tag: "PermissionDenied", access: "use" })
      yield* Principal.authorizeGenerate(foo, parseKeyPathSync("project/foo/x").keyPath, true)
    })
  )
})

describe("Principal.mayReveal and authorizeReveal", () => {
  const grants = "use:meta/openai/,read:meta/github/,write:service/shared/"

  it("readable (default): wherever the principal may read, never under use:", () => {
    const foo = principal("project:foo", grants)
    expect(Principal.mayReveal(foo, "project/foo/db_url")).toBe(true)
    expect(Principal.mayReveal(foo, "meta/github/pat")).toBe(true)
    expect(Principal.mayReveal(foo, "service/shared/token")).toBe(true)
    expect(Principal.mayReveal(foo, "meta/openai/api_key")).toBe(false)
    expect(Principal.mayReveal(foo, "meta/other/x")).toBe(false)
    expect(Principal.mayReveal(principal("meta"), "project/foo/db_url")).toBe(true)
  })

  it("grants: only under read:/write: grants; the own scope (meta's everything too) is not revealed", () => {
    const foo = principal("project:foo", grants, "grants")
    expect(Principal.mayReveal(foo, "project/foo/db_url")).toBe(false)
    expect(Principal.may(foo, "write", "project/foo/db_url")).toBe(true)
    expect(Principal.mayReveal(foo, "meta/github/pat")).toBe(true)
    expect(Principal.mayReveal(foo, "service/shared/token")).toBe(true)
    expect(Principal.mayReveal(foo, "meta/openai/api_key")).toBe(false)
    const meta = principal("meta", "read:meta/github/", "grants")
    expect(Principal.mayReveal(meta, "meta/github/pat")).toBe(true)
    expect(Principal.mayReveal(meta, "project/foo/db_url")).toBe(false)
  })

  it("never: nothing, for meta too; permissions otherwise unchanged", () => {
    for (const p of [principal("meta", "", "never"), principal("project:foo", grants, "never")]) {
      for (const keyPath of ["project/foo/db_url", "meta/github/pat", "service/shared/token", "meta/openai/k"]) {
        expect(Principal.mayReveal(p, keyPath)).toBe(false)
      }
      expect(Principal.may(p, "write", "project/foo/db_url")).toBe(true)
    }
  })

  it.effect("authorizeReveal: PermissionDenied without any grant, else RevealDenied with the reason", () =>
    Effect.gen(function* () {
      const foo = principal("project:foo", grants)
      yield* Principal.authorizeReveal(foo, "project/foo/db_url")
      const denied = yield* Effect.flip(Principal.authorizeReveal(foo, "meta/other/x"))
      expect(denied).toMatchObject({ _tag: "PermissionDenied", access: "read", keyPath: "meta/other/x" })
      const use = yield* Effect.flip(Principal.authorizeReveal(foo, "meta/openai/api_key"))
      expect(use).toMatchObject({ _tag: "RevealDenied", principal: "project:foo", reason: "use" })
      expect(use.message).toContain("use:")
      const blind = principal("project:foo", grants, "grants")
      const own = yield* Effect.flip(Principal.authorizeReveal(blind, "project/foo/db_url"))
      expect(own).toMatchObject({ _tag: "RevealDenied", reason: "grants" })
      expect(own.message).toContain("SECRETS_REVEAL=grants")
      const never = yield* Effect.flip(Principal.authorizeReveal(principal("meta", "", "never"), "meta/x/y"))
      expect(never).toMatchObject({ _tag: "RevealDenied", principal: "meta", reason: "never" })
      expect(never.message).toContain("SECRETS_REVEAL=never")
    })
  )
})
