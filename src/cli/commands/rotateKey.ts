/**
 * `secrets rotate-key [--new-key-file F]`: replaces the store's master key while other processes keep working
 * (postgres/admin/rotateKey.ts). The new key is made there, or taken from F, and kept in the configured key file
 * before anything is encrypted under it, so processes reading that file follow the switch. Interrupted at any point, it
 * finishes when run again: it resumes towards the key the store's switches lead to (or, stopped before the switch,
 * makes another key). A store whose active key was set
 * back without an authenticated switch (KeySwitch.ts) is put right: the switch starts from the last key a switch
 * authenticated, and the rollback is recorded in the audit trail (`key-rollback`).
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as path from "node:path"
import * as EncryptionKey from "../../crypto/EncryptionKey.js"
import * as Keyring from "../../crypto/Keyring.js"
import { InvalidArguments, StoreUnavailable } from "../../domain/errors.js"
import { KeyUsage, Rotation, RotateKey, Verify } from "../../postgres/index.js"
import { RotateKey as RotateKeyRequest } from "../../wire/operatorRequests.js"
import { onServerOr, remoteTranscript } from "../client.js"
import { settings } from "../CliSettings.js"
import { note, printLine } from "../output.js"
import * as ProgressBar from "../progress.js"

const MAX_BATCH = 100_000

const newKeyFile = Options.text("new-key-file").pipe(
  Options.optional,
  Options.withDescription("take the new key from this file (its first key) instead of making one")
)
const batchSize = Options.integer("batch-size").pipe(
  Options.withDefault(Rotation.DEFAULT_BATCH_SIZE),
  Options.withDescription(`values re-encrypted per statement (1 to ${MAX_BATCH})`)
)

/**
 * The rotation of the store the settings name, with their key file: by the CLI, or by `secrets server` on its own
 * store and key file for an operator token (it keeps serving meanwhile, and follows the switch as every process does).
 */
export const rotateStoreKey = (args: { readonly newKeyFile: Option.Option<string>; readonly batchSize: number }) =>
  Effect.gen(function* () {
    if (args.batchSize < 1 || args.batchSize > MAX_BATCH) {
      return yield* new InvalidArguments({ tool: "rotate-key", reason: `--batch-size must be from 1 to ${MAX_BATCH}` })
    }
    const current = yield* settings
    const configured = yield* Keyring.load(current.key)
    const givenFile = Option.map(args.newKeyFile, (file) => path.resolve(file))
    const given = Option.isSome(givenFile)
      ? Option.some({ file: givenFile.value, key: yield* EncryptionKey.fromFile(givenFile.value) })
      : Option.none()
    const outcome = yield* RotateKey.rotateStore(current, configured, given, args.batchSize, ProgressBar.make)
    const { damaged, left, ms, rotated, target, usage } = outcome
    const rate = ms > 0 ? Math.round((rotated * 1000) / ms) : rotated
    yield* printLine(
      `re-encrypted ${rotated.toLocaleString("en-US")} values under key id ${target.id} in ` +
        `${(ms / 1000).toFixed(1)} s (${rate.toLocaleString("en-US")} values/s)`
    )
    yield* printLine(`key ids holding data: ${KeyUsage.describe(usage)}`)
    if (Option.isSome(outcome.nextStep)) yield* note(outcome.nextStep.value)
    if (damaged.length > 0) {
      yield* note(
        `${damaged.length} values could not be re-encrypted; the key check stays, the rotation is unfinished:`
      )
      for (const d of damaged) yield* note(`  ${d.keyPath} version ${d.version} (${d.reason})`)
      return yield* Verify.errorOf(damaged[0]!, outcome.keyIds)
    }
    if (left > 0) {
      return yield* new StoreUnavailable({ reason: `${left} values are still under other keys; run rotate-key again` })
    }
    yield* printLine(`the key check is under key id ${target.id}: the rotation is complete`)
  })

export const rotateKey = Command.make("rotate-key", { newKeyFile, batchSize }, (args) =>
  onServerOr(
    (client) =>
      Option.isSome(args.newKeyFile)
        ? Effect.fail(
            new InvalidArguments({
              tool: "rotate-key",
              reason:
                `in client mode the server makes the new key and keeps it in its own key file; --new-key-file names a ` +
                `file on this machine, which the server cannot read. Run it without --new-key-file, or run ` +
                `\`secrets rotate-key --new-key-file FILE\` on the server's machine as the server's OS user, without SECRETS_SERVER`
            })
          )
        : remoteTranscript(client, new RotateKeyRequest({ batchSize: args.batchSize })),
    rotateStoreKey(args)
  )
).pipe(Command.withDescription("Replace the master key: re-encrypt every stored value under a new key, online"))
