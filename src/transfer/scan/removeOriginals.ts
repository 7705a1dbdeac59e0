/**
 * `secrets import apply --remove-originals DIR`, run only after every entry was imported and read back: each
 * original goes into DIR, a directory of mode 0700 the operator names, at its own absolute path below it
 * (`DIR/home/ann/.npmrc`), so nothing is ever deleted without a copy and two files of one name never meet. A file is
 * moved (a hard link then an unlink, so nothing is overwritten; a copy then an unlink across file systems). A `.env`
 * stays where it is: a copy goes to DIR, and in the file each imported variable's lines become one comment saying
 * where it went, written to a temporary file and renamed over the original (same mode and owner), so a crash leaves
 * the old file or the new one, never half of one. Its settings stay.
 *
 * Everything that could refuse is checked before the import writes anything (`prepare`): DIR is a directory of
 * ours, 0700, not a link, or can be made; no original's place in it is taken.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export interface Original {
  readonly file: string
  readonly dotenv: boolean
  /** For a `.env`: the variables to edit out, with their lines (1-based, inclusive). */
  readonly lines: ReadonlyArray<{ readonly name: string; readonly keyPath: string; line: number; lastLine: number }>
}

export interface Done {
  readonly moved: ReadonlyArray<string>
  readonly edited: ReadonlyArray<string>
}

export const backupPathOf = (dir: string, file: string): string => path.join(dir, path.resolve(file))

/** Why the originals cannot go to `dir`, or undefined when they can (nothing is created here). */
export const prepare = (dir: string, files: ReadonlyArray<string>): string | undefined => {
  let stat: fs.Stats | undefined
  try {
    stat = fs.lstatSync(dir)
  } catch {
    stat = undefined
  }
  if (stat === undefined) {
    if (!fs.existsSync(path.dirname(dir))) return `the backup directory's parent ${path.dirname(dir)} does not exist`
  } else {
    if (!stat.isDirectory()) return `the backup directory ${dir} is not a directory (links are not followed)`
    if (stat.uid !== process.getuid?.()) return `the backup directory ${dir} belongs to another user (uid ${stat.uid})`
    if ((stat.mode & 0o077) !== 0) {
      return `the backup directory ${dir} has mode ${(stat.mode & 0o777).toString(8)}; it must be 0700 (chmod 700 it)`
    }
  }
  const taken = files.map((f) => backupPathOf(dir, f)).filter((target) => fs.existsSync(target))
  return taken.length === 0 ? undefined : `the backup directory already holds ${taken.join(", ")}`
}

const makeDir = (dir: string): void => {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
}

const move = (file: string, target: string): void => {
  makeDir(path.dirname(target))
  try {
    fs.linkSync(file, target)
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") throw error
    fs.copyFileSync(file, target, fs.constants.COPYFILE_EXCL)
  }
  fs.unlinkSync(file)
}

/** Lines with their endings kept (`\n`, `\r\n`, or a lone `\r`, which the `.env` parser reads as one too). */
const linesOf = (text: string): Array<string> => text.split(/(?<=\r\n|\n|\r(?!\n))/)

const endingOf = (line: string): string => /\r\n|\n|\r$/.exec(line)?.[0] ?? ""

const edited = (text: string, original: Original, target: string): string => {
  const lines = linesOf(text)
  // Last first, so earlier line numbers stay right.
  for (const v of [...original.lines].sort((a, b) => b.line - a.line)) {
    const bom = v.line === 1 && lines[0]!.startsWith("\uFEFF") ? "\uFEFF" : ""
    const comment = `${bom}# ${v.name} is in the secrets store at ${v.keyPath} (original: ${target})`
    lines.splice(v.line - 1, v.lastLine - v.line + 1, comment + endingOf(lines[v.lastLine - 1] ?? ""))
  }
  return lines.join("")
}

const rewrite = (file: string, text: string): void => {
  const stat = fs.statSync(file)
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.secrets-import-${process.pid}`)
  const fd = fs.openSync(temporary, "wx", stat.mode & 0o7777)
  try {
    if (process.getuid?.() === 0) fs.fchownSync(fd, stat.uid, stat.gid)
    fs.writeFileSync(fd, text)
    fs.fsyncSync(fd)
  } catch (error) {
    fs.closeSync(fd)
    fs.rmSync(temporary, { force: true })
    throw error
  }
  fs.closeSync(fd)
  fs.renameSync(temporary, file)
}

/** Moves or edits each original; on a failure, says which were done, which not, and why. */
export const removeOriginals = (
  dir: string,
  originals: ReadonlyArray<Original>
): { readonly done: Done; readonly failed?: { readonly reason: string; readonly left: ReadonlyArray<string> } } => {
  const moved: Array<string> = []
  const editedFiles: Array<string> = []
  makeDir(dir)
  fs.chmodSync(dir, 0o700)
  for (const [i, original] of originals.entries()) {
    const target = backupPathOf(dir, original.file)
    try {
      if (original.dotenv) {
        const text = fs.readFileSync(original.file, "utf8")
        makeDir(path.dirname(target))
        fs.copyFileSync(original.file, target, fs.constants.COPYFILE_EXCL)
        rewrite(original.file, edited(text, original, target))
        editedFiles.push(original.file)
      } else {
        move(original.file, target)
        moved.push(original.file)
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? "unknown error"
      return {
        done: { moved, edited: editedFiles },
        failed: {
          reason: `${original.file} could not go to ${target} (${code})`,
          left: originals.slice(i).map((o) => o.file)
        }
      }
    }
  }
  return { done: { moved, edited: editedFiles } }
}
