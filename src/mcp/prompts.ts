/**
 * MCP prompts for the design note's four usage patterns (retrieve, create, discover, rotate expiring), so a user can
 * start one from the client's prompt menu. Each is a static template filled with checked arguments
 * (promptArguments.ts) and with what the session's principal may do, so the agent is sent to the tool that will
 * work (`secrets run` where it may use a value but not see it) instead of one that will be refused.
 */
import type { GetPromptResult } from "@modelcontextprotocol/sdk/types.js"
import { Either } from "effect"
import * as Principal from "../auth/Principal.js"
import { type ParsedKeyPath, printable } from "../domain/KeyPath.js"
import { envNameFor, runLineFor } from "../run/RunLine.js"
import type { Caller } from "./Caller.js"
import * as Args from "./promptArguments.js"

interface Prompt {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly arguments: ReadonlyArray<Args.ArgumentSpec>
  readonly render: (caller: Caller, given: Args.Given) => Either.Either<string, string>
}

const json = (value: unknown) => JSON.stringify(value)

/** list_secrets' filter for the project or service a key path belongs to. */
const filterFor = (path: ParsedKeyPath) =>
  path.projectName !== null
    ? { scope: "project", project: path.projectName }
    : path.serviceName !== null
      ? { scope: "service", service: path.serviceName }
      : { scope: path.scope }

const denied = (caller: Caller, keyPath: string, access: Principal.Access) =>
  `This server acts as \`${caller.principal.name}\`, which may not ${access} ${keyPath}: the call would be ` +
  `PermissionDenied. Tell me, so the operator can add a grant (SECRETS_GRANTS, e.g. ` +
  `${access}:${keyPath.split("/").slice(0, 2).join("/")}/).`

const retrieve = (caller: Caller, path: ParsedKeyPath): string => {
  const { keyPath } = path
  const { principal } = caller
  const blind =
    `\`${runLineFor(keyPath)}\` (\`--file ${envNameFor(keyPath)}=${keyPath}\` when the program wants a file path; ` +
    `\`{{ secret "${keyPath}" }}\` in a template passed with \`--template NAME=<file>\`)`
  const how = !Principal.may(principal, "use", keyPath)
    ? denied(caller, keyPath, "read")
    : !Principal.mayReveal(principal, keyPath)
      ? `You may use it but not see it (get_secret answers RevealDenied). Pass it to what needs it with ${blind}.`
      : `If it only has to reach a command, a deploy or a config file, pass it blind with ${blind}. Call ` +
        `get_secret with ${json({ keyPath })} only if you must read the value itself, and never repeat it to me.`
  return [
    `I need the secret at ${keyPath}.`,
    how,
    `If it is NotFound, call list_secrets with ${json(filterFor(path))} and ask me which listed path I meant; ` +
      "never guess one. If it is Expired, tell me: it needs a fresh value."
  ].join("\n\n")
}

const create = (caller: Caller, path: ParsedKeyPath, description: string): string => {
  const { keyPath } = path
  const { principal } = caller
  if (!Principal.may(principal, "use", keyPath)) {
    return `Create a secret at ${keyPath}, described as ${json(description)}.\n\n${denied(caller, keyPath, "write")}`
  }
  const generate = { keyPath, description, length: 40, charset: "base64url" }
  const request = { keyPath, description }
  const given = Principal.may(principal, "write", keyPath)
    ? `call request_secret with ${json(request)} and give me its url or command: I type the value there, so it ` +
      "never enters this conversation. Never ask me for the value here. Then call request_status with its id " +
      "until it is provided."
    : `your grant there lets you generate but not set_secret (PermissionDenied): ask the operator to store it ` +
      `with \`secrets set ${keyPath}\`.`
  return [
    `Create a secret at ${keyPath}, described as ${json(description)}. If it is unclear which of these it is, ask me.`,
    `- A key, password or token we make ourselves: call generate_secret with ${json(generate)}. Nobody sees the ` +
      `value; use it with \`${runLineFor(keyPath)}\`.`,
    `- A value issued elsewhere (a provider's API key): ${given}`,
    "If the path is taken (SecretExists or VersionConflict), tell me instead of overwriting it."
  ].join("\n\n")
}

/** Where discovery looks by default: the principal's own scope (everything, for meta). */
const ownFilter = (principal: Principal.Principal): Record<string, string> => {
  const own = principal.grants.find((g) => g.own)
  const [scope, name] = own?.segments ?? []
  if (scope === undefined) return {}
  return name === undefined ? { scope } : { scope, [scope]: name }
}

/** Where a filter looks, in words: `under project/consilio/`, `under meta/`, or nothing for everywhere. */
const whereOf = (filter: Record<string, string>): string => {
  const { scope, ...rest } = filter
  const name = Object.values(rest)[0]
  return scope === undefined ? "" : ` under ${scope}/${name === undefined ? "" : `${name}/`}`
}

const discover = (caller: Caller, filter: Record<string, string>): string =>
  [
    `Find out which secrets exist${whereOf(filter)}. Call list_secrets with ${json(filter)}, then again with each ` +
      "nextCursor it returns until that is null.",
    "Show me a table: key path, description, last accessed, expiry (mark expired ones and those flagged for " +
      "rotation), and revealable (whether get_secret would show you the value). Do not read any value.",
    `You see only what \`${caller.principal.name}\` may use; if something I expect is missing, say so: it may need ` +
      "a grant from the operator."
  ].join("\n\n")

/** A tool call's arguments with placeholders for the agent to fill (`<its version>` stands for a number). */
const template = (args: Record<string, unknown>) => json(args).replace(/"(<its version>)"/g, "$1")

const rotate = (window: string): string => {
  const generate = { keyPath: "<path>", overwrite: true, expectedVersion: "<its version>", expiresIn: "90d" }
  const set = { keyPath: "<path>", value: "<the new value>", expectedVersion: "<its version>", expiresIn: "90d" }
  return [
    `Rotate the secrets that expire within ${window} (or have expired) or are flagged for rotation.`,
    `1. Call list_secrets with ${json({ expiringWithin: window })} and with ${json({ rotationRequired: true })}, ` +
      "following nextCursor. Show me each one's key path, description, version and expiry, and wait for my " +
      "go-ahead before changing anything.",
    "2. For each one I confirm:\n" +
      `- a value we make ourselves (an internal API key, a password, a signing key): generate_secret with ` +
      `${template(generate)}; nobody sees the new value.\n` +
      `- a credential issued elsewhere (a provider's token): tell me where to get a new one; when I give it, ` +
      `set_secret with ${template(set)}.\n` +
      "Replacing a value needs write access there (else PermissionDenied: ask the operator). A new value clears " +
      "the flag and keeps the old one as a version. VersionConflict means it changed meanwhile: list it again.",
    "3. Whatever uses a rotated secret must be restarted or redeployed (`secrets run` reads the new value). " +
      "Report what you rotated, what waits for me, and what failed with its error."
  ].join("\n\n")
}

const KEY_PATH = "a key path such as project/consilio/database_url"

export const PROMPTS: ReadonlyArray<Prompt> = [
  {
    name: "retrieve_secret",
    title: "Retrieve a secret",
    description: "Use a stored secret: passed blind to a command where possible, read only when needed.",
    arguments: [{ name: "keyPath", description: KEY_PATH, required: true }],
    render: (caller, given) =>
      Either.map(Args.keyPathArgument("keyPath", given["keyPath"]!), (p) => retrieve(caller, p))
  },
  {
    name: "create_secret",
    title: "Create a secret",
    description: "Store a new secret: generated by the store (nobody sees it) or given by you, never overwriting.",
    arguments: [
      { name: "keyPath", description: KEY_PATH, required: true },
      { name: "description", description: "what the secret is for, one line", required: true }
    ],
    render: (caller, given) =>
      Either.gen(function* () {
        const path = yield* Args.keyPathArgument("keyPath", given["keyPath"]!)
        return create(caller, path, yield* Args.descriptionArgument("description", given["description"]!))
      })
  },
  {
    name: "discover_secrets",
    title: "Discover secrets",
    description: "List what exists (default: your own scope), with descriptions and expiry, never values.",
    arguments: [
      { name: "scope", description: "meta, project or service", required: false },
      { name: "project", description: "a project name, e.g. consilio", required: false },
      { name: "service", description: "a service name, e.g. penpot", required: false }
    ],
    render: (caller, given) =>
      Either.gen(function* () {
        const project = yield* Args.segmentArgument("project", given["project"])
        const service = yield* Args.segmentArgument("service", given["service"])
        if (project !== undefined && service !== undefined) {
          return yield* Either.left("Give project or service, not both.")
        }
        const implied = project !== undefined ? "project" : service !== undefined ? "service" : undefined
        const scope = (yield* Args.scopeArgument("scope", given["scope"])) ?? implied
        if (implied !== undefined && scope !== implied) return yield* Either.left(`${implied} needs scope ${implied}.`)
        if (scope === undefined) return discover(caller, ownFilter(caller.principal))
        const name = project !== undefined ? { project } : service !== undefined ? { service } : {}
        return discover(caller, { scope, ...name })
      })
  },
  {
    name: "rotate_expiring_secrets",
    title: "Rotate expiring secrets",
    description: "Find secrets expiring soon or flagged for rotation, and replace them once you confirm.",
    arguments: [{ name: "window", description: "how far ahead to look, e.g. 7d (default 7d)", required: false }],
    render: (_, given) => Either.map(Args.durationArgument("window", given["window"] ?? "7d"), rotate)
  }
]

/** The `prompts/list` answer. */
export const promptList = PROMPTS.map(({ render: _, ...listed }) => listed)

/** A `prompts/get` answer, or why the request is refused (a JSON-RPC -32602). */
export const getPrompt = (
  caller: Caller,
  name: string,
  args: Readonly<Record<string, string>> | undefined
): Either.Either<GetPromptResult, string> => {
  const prompt = PROMPTS.find((p) => p.name === name)
  if (prompt === undefined) {
    const shown = JSON.stringify(printable(name.slice(0, 32)))
    return Either.left(`Unknown prompt ${shown}. The prompts are ${PROMPTS.map((p) => p.name).join(", ")}.`)
  }
  return Either.gen(function* () {
    const given = yield* Args.checkNames(prompt.name, prompt.arguments, args)
    const text = yield* prompt.render(caller, given)
    return { description: prompt.description, messages: [{ role: "user" as const, content: { type: "text", text } }] }
  })
}
