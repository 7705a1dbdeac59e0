/**
 * The one-time page where a human types a secret an agent asked for (request_secret). Plain HTML with no script at
 * all and one style block, allowed by its hash: the policy forbids every script, every other resource and any
 * form target but this server. The page says who asked, for which path and why; it never shows a value, and a
 * posted value is never echoed back. The form carries an anti-CSRF token bound to the request (csrfToken).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import type { SecretRequest } from "../requests/RequestStore.js"

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222}" +
  "dt{font-weight:600}dd{margin:0 0 .6em}input[type=password]{width:100%;font:inherit;padding:.4em}" +
  "button{font:inherit;padding:.4em 1.2em;margin-top:.8em}.note{color:#555;font-size:.9em}"

const styleHash = createHash("sha256").update(STYLE).digest("base64")

/** No script, no frame, no other origin: the page works with what it is, and posts only to this server. */
export const CONTENT_SECURITY_POLICY =
  `default-src 'none'; style-src 'sha256-${styleHash}'; form-action 'self'; base-uri 'none'; ` +
  `frame-ancestors 'none'`

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  // Not no-referrer: under it a browser sends `Origin: null` with the form, which the Origin check must refuse.
  "Referrer-Policy": "same-origin",
  "Cross-Origin-Opener-Policy": "same-origin"
}

const escape = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c as "&" | "<" | ">" | '"' | "'"]
  )

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
  `<meta name="viewport" content="width=device-width"><title>${escape(title)}</title>` +
  `<style>${STYLE}</style></head><body><h1>${escape(title)}</h1>${body}</body></html>`

/** The form for a pending request. */
export const formPage = (request: SecretRequest, csrf: string) =>
  page(
    "A secret is requested",
    `<dl><dt>Asked by</dt><dd>${escape(request.principal)} (${escape(request.client)})</dd>` +
      `<dt>For the path</dt><dd><code>${escape(request.keyPath)}</code></dd>` +
      `<dt>Why</dt><dd>${escape(request.description ?? "(no reason given)")}</dd>` +
      `<dt>Answer by</dt><dd>${escape(request.expiresAt.toISOString())}</dd></dl>` +
      `<form method="post" autocomplete="off"><input type="hidden" name="csrf" value="${escape(csrf)}">` +
      `<label for="value">Value</label><input type="password" id="value" name="value" required autofocus>` +
      `<button type="submit">Store it</button></form>` +
      `<p class="note">The value goes to the store only; the agent that asked never sees it. This link works once. ` +
      `In a terminal: <code>secrets provide ${escape(request.id)}</code>.</p>`
  )

/** Any other answer: stored, or why not. Fixed words and the request's own fields only. */
export const messagePage = (title: string, text: string) => page(title, `<p>${escape(text)}</p>`)

/**
 * Anti-CSRF tokens: an HMAC of the request id under a key this process draws at start, so only a page this
 * server served can post (a page elsewhere cannot read ours: the Origin check and same-origin policy).
 */
export const csrfTokens = (key: Buffer = randomBytes(32)) => {
  const tokenFor = (id: string) => createHmac("sha256", key).update(`provide ${id}`).digest("base64url")
  return {
    tokenFor,
    check: (id: string, token: string | null) => {
      const expected = Buffer.from(tokenFor(id))
      const given = Buffer.from(token ?? "")
      return given.length === expected.length && timingSafeEqual(given, expected)
    }
  }
}
