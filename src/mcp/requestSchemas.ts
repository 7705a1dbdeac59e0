/** The inputs and outputs of `request_secret` and `request_status` (requestTools.ts). */
import { Schema } from "effect"

const Optional = <S extends Schema.Schema.All>(s: S) => Schema.optionalWith(s, { nullable: true })
const RequestId = Schema.String.annotations({
  description: "The request's id from request_secret, req_ and 32 characters",
  examples: ["req_3kT9qQm2vJx8cN4pL7sW1aZ5bR0dE6fG"]
})
const Status = Schema.Literal("pending", "provided", "expired").annotations({
  description: "pending until the human answers; provided once the secret is stored; expired if nobody answered"
})

export const RequestSecretInput = Schema.Struct({
  keyPath: Schema.String.annotations({
    description:
      "Where the human's value will be stored, {scope}/{context}/{name}, e.g. project/consilio/stripe_api_key"
  }),
  description: Optional(
    Schema.String.annotations({ description: "Why you need it, shown to the human and kept as its description" })
  ),
  expiresIn: Optional(Schema.String.annotations({ description: "The secret's expiry once stored, e.g. 90d" })),
  rotationRequired: Optional(Schema.Boolean.annotations({ description: "Store it flagged for rotation" }))
})

export const RequestSecretOutput = Schema.Struct({
  id: Schema.String,
  keyPath: Schema.String,
  status: Status,
  expiresAt: Schema.String.annotations({ description: "Until when the human can answer (ISO-8601)" }),
  url: Schema.NullOr(
    Schema.String.annotations({ description: "The one-time page where the human types the value (null over stdio)" })
  ),
  command: Schema.String.annotations({ description: "The terminal command that answers it: secrets provide <id>" })
})

export const RequestStatusInput = Schema.Struct({ id: RequestId })

export const RequestStatusOutput = Schema.Struct({
  id: Schema.String,
  keyPath: Schema.String,
  status: Status,
  expiresAt: Schema.String,
  providedAt: Schema.NullOr(Schema.String)
})
