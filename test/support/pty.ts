/**
 * A command run in a pseudo-terminal (python's pty module: node-pty is not installed), answering its first prompt
 * that contains `prompt` with `answer` and Enter, as a person at a terminal would. The answer travels in the
 * environment of the helper, never on a command line. What the terminal showed, and the exit code.
 */
import { spawn } from "node:child_process"

const DRIVER = `
import os, pty, select, sys
answer = os.environ.pop("PTY_ANSWER").encode()
prompt = os.environ.pop("PTY_PROMPT").encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, sent = b"", False
while True:
    ready, _, _ = select.select([fd], [], [], 60)
    if not ready:
        break
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and prompt in out:
        os.write(fd, answer + b"\\r")
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`

export const inPty = (
  command: ReadonlyArray<string>,
  options: { readonly env: Record<string, string>; readonly prompt: string; readonly answer: string }
): Promise<{ readonly code: number | null; readonly shown: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", DRIVER, ...command], {
      env: { ...options.env, PTY_ANSWER: options.answer, PTY_PROMPT: options.prompt },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let shown = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => (shown += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, shown }))
  })
