// The `loupe` command as tests run it: a real process from the TypeScript sources.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = path.join(repoRoot, 'packages', 'cli', 'src', 'cli.ts');
// Resolved here: the processes run with a temp dir as their working directory.
const tsx = import.meta.resolve('tsx');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `loupe <args>`; the caller owns the process. */
export function spawnLoupe(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', tsx, '--conditions=loupe-source', entry, ...args], {
    ...(opts.cwd && { cwd: opts.cwd }),
    env: { ...process.env, ...opts.env },
  });
}

/** Runs `loupe <args>` to the end. */
export function runLoupe(args: readonly string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawnLoupe(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}
