/**
 * Programs that print a value the ways the masking issue found (issue 19), run for real on a batch of values:
 * Python, bash (with xxd, hexdump, tr and coreutils' printf), Node and jq. Each prints, per value and per way,
 * `index<TAB>name<TAB>base64 of what it printed`, so a value's bytes never pass through a shell's word splitting
 * or a terminal.
 *
 * `expectations` says what a way's output must look like once masked: the program's own framing (quotes, a key)
 * around one token, or, for a hex dump, no run of 6 bytes of the value in the ASCII column.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Kind, TestValue } from "./values.js"

export interface Printed {
  readonly index: number
  readonly name: string
  readonly out: Buffer
}

const PYTHON = String.raw`
import base64, html, json, os, shlex, sys, unicodedata, urllib.parse as up
import yaml
def out(i, name, text):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    print(i, name, base64.b64encode(data).decode(), sep="\t")
for i, item in enumerate(json.load(open(sys.argv[1]))):
    v, kind = item["value"], item["kind"]
    out(i, "repr", repr(v))
    out(i, "print(dict)", str({"password": v}))
    out(i, "bytes repr", repr(v.encode()))
    out(i, "shlex.quote", shlex.quote(v))
    out(i, "yaml.safe_dump", yaml.safe_dump({"password": v}))
    out(i, "json.dumps", json.dumps({"password": v}))
    out(i, "json.dumps ensure_ascii=False", json.dumps({"password": v}, ensure_ascii=False))
    out(i, "json.dumps twice", json.dumps(json.dumps({"password": v})))
    out(i, "html.escape", html.escape(v))
    out(i, "quote", up.quote(v))
    out(i, "quote_plus", up.quote_plus(v))
    out(i, "strip", v.strip())
    out(i, "curl -v header", "> Authorization: Bearer " + v.strip() + "\r\n")
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        out(i, "normalize " + form, unicodedata.normalize(form, v))
    if kind == "hex":
        out(i, "upper", v.upper())
    if kind in ("pem", "json"):
        key = json.loads(v)["private_key"] if kind == "json" else v
        for n, line in enumerate(key.strip().split("\n")[1:-1]):
            out(i, "PEM line", line)
        out(i, "CRLF", key.replace("\n", "\r\n"))
    if kind == "json":
        for name, field in json.loads(v).items():
            out(i, "field " + name, str(field))
    if kind == "url":
        parts = up.urlparse(v)
        out(i, "urlparse password", parts.password)
        out(i, "unquote password", up.unquote(parts.password))
        out(i, "urlparse netloc", parts.netloc)
`

const BASH = String.raw`
i=0
for f in "$1"/*; do
  v="$(cat "$f"; printf x)"; v="${"$"}{v%x}"
  emit() { printf '%s\t%s\t%s\n' "$i" "$1" "$(base64 -w0)"; }
  { set -x; : "$v"; } 2>&1 >/dev/null | emit "set -x"
  printf %q "$v" | emit "printf %q"
  /usr/bin/printf %q "$v" | emit "coreutils printf %q"
  printf %s "${"$"}{v@Q}" | emit "\${v@Q}"
  t="$(printf %s "$v")"; printf %s "$t" | emit "\$(...)"
  printf 'password=%s\n' "$v" | xxd | emit "xxd"
  printf %s "$v" | xxd | emit "xxd"
  printf 'password=%s\n' "$v" | hexdump -C | emit "hexdump -C"
  printf 'ab%s' "$v" | hexdump -C | emit "hexdump -C"
  case "$f" in *.hex) printf %s "$v" | tr a-f A-F | emit "tr a-f A-F" ;; esac
  for filter in @sh @html @uri @json; do jq -jn --arg v "$v" "\$v|$filter" | emit "jq $filter"; done
  i=$((i + 1))
done
`

const NODE = String.raw`
const items = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
items.forEach(({ value: v }, i) => {
  const out = (name, text) => console.log(i + "\t" + name + "\t" + Buffer.from(text).toString("base64"))
  out("JSON.stringify", JSON.stringify(v))
  out("JSON.stringify twice", JSON.stringify(JSON.stringify({ password: v })))
  out("encodeURI", encodeURI(v))
  out("encodeURIComponent", encodeURIComponent(v))
  out("URLSearchParams", new URLSearchParams({ password: v }).toString())
  out("hex upper", Buffer.from(v).toString("hex").toUpperCase())
  for (const form of ["NFC", "NFD", "NFKC", "NFKD"]) out("normalize " + form, v.normalize(form))
})
`

const parse = (stdout: string): Array<Printed> =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [index, name, out] = line.split("\t")
      return { index: Number(index), name: name!, out: Buffer.from(out ?? "", "base64") }
    })

const run = (command: string, args: ReadonlyArray<string>): Promise<Array<Printed>> =>
  new Promise((resolve, reject) =>
    execFile(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? resolve(parse(stdout)) : reject(new Error(`${command} failed: ${stderr}`))
    )
  )

/** Every program's outputs for `values`, written under `dir`. */
export const printAll = async (dir: string, values: ReadonlyArray<TestValue>): Promise<Array<Printed>> => {
  const list = path.join(dir, "values.json")
  fs.writeFileSync(list, JSON.stringify(values))
  const files = path.join(dir, "values")
  fs.mkdirSync(files)
  values.forEach(({ kind, value }, i) =>
    fs.writeFileSync(path.join(files, `${String(i).padStart(4, "0")}.${kind}`), value)
  )
  const printed = await Promise.all([
    run("python3", ["-c", PYTHON, list]),
    run("bash", ["-c", BASH, "bash", files]),
    run(process.execPath, ["-e", NODE, list])
  ])
  return printed.flat()
}

export type Check =
  /** The masked output is exactly this, with T for one token: the program's framing around the value. */
  | { readonly shape: RegExp }
  /** A hex dump: no run of 6 printable content bytes of the value in its ASCII column. */
  | { readonly dump: true }
  /** No run of 16 content bytes anywhere, no line of a PEM key: a form printed in pieces (YAML folds lines). */
  | { readonly pieces: true }
  /** A public field (`type`, a number): printed as is. */
  | { readonly visible: true }

/** The masked output is `source` around one token; a line end after it may be the value's own, masked with it. */
const shape = (source: string): Check => ({ shape: new RegExp(`^${source}\\s*$`, "s") })
const Q = `(?:'|")?`
const GENERATED: ReadonlyArray<Kind> = ["alnum", "hex", "base64url", "ascii"]

/** Ways that only apply to some kinds of value (a hex value upper-cased, a URL's password, a PEM key's lines). */
export const ONLY_SOME_KINDS = /^(upper|tr a-f A-F|PEM line|CRLF|urlparse .*|unquote password|field .*)$/

/** What the way `name` must print for `value` once masked; undefined: not a form the issue names for it. */
export const checkOf = (name: string, { kind, value }: TestValue, out: Buffer): Check | undefined => {
  if (name === "xxd" || name === "hexdump -C") return { dump: true }
  if (name.startsWith("field ")) {
    const field = (JSON.parse(value) as Record<string, unknown>)[name.slice(6)]
    return name === "field type" || typeof field !== "string" ? { visible: true } : shape("T")
  }
  // coreutils quotes control and non-ASCII characters one by one ('a'$'\303\251''b'): not a form masked.
  if (name === "coreutils printf %q")
    return GENERATED.includes(kind) && !/[\x00-\x1f]/.test(value) ? shape(`${Q}T${Q}`) : undefined
  // PyYAML folds a multi-line or spaced string over several lines: masked piece by piece. A long double-quoted
  // one it breaks anywhere with a backslash: not a form masked.
  if (name === "yaml.safe_dump" && (kind === "pem" || kind === "json")) return { pieces: true }
  if (name === "yaml.safe_dump" && out.toString().trimEnd().includes("\\\n")) return undefined
  if (name === "yaml.safe_dump") return shape(`password: ${Q}T[\\s'"]*`)
  if (name === "urlparse netloc") return shape("app:T@db\\.internal:5432")
  if (name === "curl -v header") return shape("> Authorization: Bearer T")
  if (name === "set -x") return shape(`\\+ : ${Q}T${Q}`)
  if (["print(dict)", "json.dumps", "json.dumps ensure_ascii=False"].includes(name)) {
    return shape(`\\{${Q}password${Q}: ${Q}T${Q}\\}`)
  }
  if (name.endsWith("twice")) return shape(`"\\{\\\\"password\\\\": ?\\\\"T\\\\"\\}"`)
  if (name === "URLSearchParams") return shape("password=T")
  return shape(`(?:b|\\$)?${Q}T${Q}`)
}

const ARMOR = /-----(?:BEGIN|END) [^\r\n]*?-----/

/** The public text of a value: a JSON document's keys and `type`, which a secret field may share runs with. */
export const publicOf = ({ kind, value }: TestValue): Array<string> =>
  kind === "json"
    ? Object.entries(JSON.parse(value) as Record<string, unknown>).flatMap(([key, field]) =>
        key === "type" ? [key, String(field)] : [key]
      )
    : []

/** The secret text of a value, as it appears in what is printed: what must never show through a mask. */
export const contentOf = ({ kind, value }: TestValue): Array<string> => {
  if (kind === "url") return [new URL(value).password]
  if (kind === "pem") return value.split(/\r?\n/).filter((line) => line !== "" && !ARMOR.test(line))
  if (kind === "json") {
    return Object.entries(JSON.parse(value) as Record<string, unknown>)
      .filter(([key, field]) => key !== "type" && typeof field === "string")
      .flatMap(([, field]) => JSON.stringify(field).slice(1, -1).split(ARMOR))
  }
  return [value.trimEnd()]
}

/** Every run of `length` bytes of `texts` that holds printable ASCII only. */
export const runsOf = (texts: ReadonlyArray<string>, length: number): Array<Buffer> =>
  texts.flatMap((text) => {
    const bytes = Buffer.from(text)
    const runs: Array<Buffer> = []
    for (let at = 0; at + length <= bytes.length; at++) {
      const run = bytes.subarray(at, at + length)
      if (run.every((byte) => byte >= 0x20 && byte <= 0x7e)) runs.push(run)
    }
    return runs
  })

/** The ASCII columns of a (masked) `xxd` or `hexdump -C` dump: where tokens can be. */
export const asciiColumns = (dump: string): string =>
  dump
    .split("\n")
    .map((line) => (line[8] === ":" ? line.slice(51) : line.slice(61, -1)))
    .join("\n")
