// Runs untrusted Python (HumanEval / MBPP candidates) so that a bad program fails instead of hurting
// the machine or the harness. Each program runs in its own process, in a fresh temp folder (its cwd,
// deleted afterwards), with:
//   - a wall-clock limit (process group SIGKILLed) and RLIMIT_CPU,
//   - RLIMIT_AS (memory) and RLIMIT_FSIZE (file size), set by the guard before the program starts,
//   - no network: a new network namespace (`unshare -n`) when the system allows it, and in any case a
//     PEP 578 audit hook that refuses sockets, subprocesses, ctypes, and any open-for-writing, remove or
//     rename outside the temp folder (audit hooks cannot be removed by the program),
//   - python3 -I -B (isolated: no user site, no PYTHON* variables; no .pyc writes).
// Outcome: passed (exit 0), failed (exception / refused operation / killed by a limit) or timeout.
// Tested in test/eval-sandbox.test.ts with an infinite loop, unbounded allocation, a socket, a write
// outside the folder, and a passing program after each.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Phi3Error } from '../errors.js';

export interface SandboxOptions {
  /** Wall-clock seconds (default 10; human-eval uses 3 on fast machines). */
  timeoutS?: number;
  /** Address-space limit in MiB (default 1024). */
  memoryMiB?: number;
  /** Python interpreter (default python3). */
  python?: string;
}

export interface SandboxResult {
  status: 'passed' | 'failed' | 'timeout';
  /** The last lines of stderr (the exception), or what killed it. */
  detail: string;
  /** How the network was cut: a namespace plus the hook, or the hook alone. */
  network: 'namespace+hook' | 'hook';
}

const GUARD = String.raw`
import os, sys, resource
root = os.path.realpath(sys.argv[1])
mem = int(sys.argv[2]) * 1024 * 1024
cpu = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
sys.dont_write_bytecode = True
W = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def inside(p):
    if isinstance(p, int):
        return True
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    p = os.path.realpath(os.path.join(root, os.fspath(p)))
    return p == root or p.startswith(root + os.sep)

BLOCK = ('socket.', 'subprocess.', 'os.system', 'os.exec', 'os.posix_spawn', 'os.spawn', 'os.fork', 'os.forkpty', 'ctypes.', 'os.kill', 'os.killpg', 'pty.', 'winreg.', 'urllib.', 'http.', 'ftplib.', 'smtplib.', 'os.chroot', 'os.setuid')

def hook(event, args):
    if event == 'open':
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(flags, int) and flags & W) or (isinstance(mode, str) and any(c in mode for c in 'wax+'))
        if writing and not inside(path):
            raise PermissionError('sandbox: writing outside the temp folder is not allowed: %r' % (path,))
    elif event in ('os.remove', 'os.rmdir', 'os.rename', 'os.replace', 'os.unlink', 'shutil.rmtree', 'os.chmod', 'os.chown', 'os.link', 'os.symlink', 'os.truncate', 'os.mkdir', 'shutil.move', 'shutil.copyfile'):
        for a in args[:2]:
            if isinstance(a, (str, bytes, os.PathLike)) and not inside(a):
                raise PermissionError('sandbox: %s outside the temp folder is not allowed' % event)
    elif event.startswith(BLOCK):
        raise PermissionError('sandbox: %s is not allowed' % event)

sys.addaudithook(hook)
sys.argv = ['program.py']
src = open('program.py', encoding='utf-8').read()
exec(compile(src, 'program.py', 'exec'), {'__name__': '__main__', '__builtins__': __builtins__})
`;

let probed: { python: string; unshare: boolean } | undefined;

/** Checks once that Python runs and whether `unshare -n` works; a clear error when Python is missing. */
export function probeSandbox(python = 'python3'): { python: string; unshare: boolean } {
  if (probed && probed.python === python) return probed;
  const r = spawnSync(python, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8', timeout: 20000 });
  if (r.error || r.status !== 0 || r.stdout.trim() !== '3')
    throw new Phi3Error(`${python} was not found or is not Python 3: HumanEval and MBPP run each program with python3 (install it, e.g. apt-get install -y python3)`);
  const u = spawnSync('unshare', ['-n', python, '-c', 'pass'], { timeout: 20000 });
  probed = { python, unshare: !u.error && u.status === 0 };
  return probed;
}

export async function runPython(program: string, o: SandboxOptions = {}): Promise<SandboxResult> {
  const { python, unshare } = probeSandbox(o.python);
  const timeoutS = o.timeoutS ?? 10;
  const dir = mkdtempSync(join(tmpdir(), 'phi3-sandbox-'));
  writeFileSync(join(dir, 'program.py'), program);
  writeFileSync(join(dir, 'guard.py'), GUARD);
  const args = ['-I', '-B', 'guard.py', dir, String(o.memoryMiB ?? 1024), String(Math.ceil(timeoutS))];
  const [cmd, argv] = unshare ? ['unshare', ['-n', python, ...args]] : [python, args];
  const network = unshare ? 'namespace+hook' : 'hook';
  try {
    return await new Promise<SandboxResult>((resolve) => {
      const child = spawn(cmd, argv, { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' } });
      let err = '';
      child.stderr.on('data', (b: Buffer) => {
        err = (err + b.toString('utf8')).slice(-4000);
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutS * 1000);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ status: 'failed', detail: `could not start: ${e.message}`, network });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const tail = err.trim().split('\n').slice(-3).join('\n');
        if (timedOut) resolve({ status: 'timeout', detail: `timed out after ${timeoutS} s`, network });
        else if (code === 0) resolve({ status: 'passed', detail: '', network });
        else resolve({ status: 'failed', detail: tail || `exit ${code ?? ''} ${signal ?? ''}`.trim(), network });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
