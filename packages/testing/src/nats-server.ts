import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface NatsServerOptions {
  /** JetStream store directory; kept on close. Default: a temporary directory removed on close. */
  readonly storeDir?: string;
  /** Client port. Default: a free one. */
  readonly port?: number;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The HTTP monitoring endpoint (`/varz`, `/jsz`, ...), as KEDA's nats-jetstream scaler reads it. */
  readonly monitorUrl: string;
  readonly storeDir: string;
  /** SIGTERM and wait for the exit (JetStream flushes its store). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: a crash. */
  kill(): Promise<void>;
  /** Stops (if running) and starts again on the same ports and store, so JetStream data survives. */
  restart(): Promise<void>;
  /** Stops and removes the store unless the caller gave `storeDir`. */
  close(): Promise<void>;
}

/** The subset of a tap Test that requireNatsOrSkip needs (this package does not depend on tap). */
export interface SkippableTest {
  fail(message: string): unknown;
  plan(count: number, comment?: string): void;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

function natsServerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** Whether a nats-server binary can be found (on PATH or in /usr/sbin, where the Debian package puts it). */
export function natsServerAvailable(): boolean {
  return natsServerBinary() !== undefined;
}

/**
 * Whether a test that needs nats-server can go on. Without the binary the test fails when
 * LOUPE_REQUIRE_NATS=1 (CI must not pass by skipping), and is otherwise skipped with a line on
 * stderr that is hard to miss.
 */
export function requireNatsOrSkip(t: SkippableTest): boolean {
  if (natsServerAvailable()) return true;
  if (process.env.LOUPE_REQUIRE_NATS === '1') {
    t.fail('nats-server is required (LOUPE_REQUIRE_NATS=1) but not installed: apt-get install -y nats-server');
    return false;
  }
  process.stderr.write('*** NATS tests SKIPPED: nats-server not found (apt-get install -y nats-server) ***\n');
  t.plan(0, 'nats-server not found (apt-get install -y nats-server)');
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers on its client port with its INFO line. */
function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let answered = false;
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      if (!answered && chunk.toString('latin1').startsWith('INFO ')) {
        answered = true;
        done(true);
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a real nats-server with JetStream on 127.0.0.1 (free ports unless given). The store is
 * on disk, so `restart()` keeps streams, consumers and messages as a production restart would.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = natsServerBinary();
  if (!binary) throw new Error('nats-server not found (apt-get install -y nats-server)');
  const ownStore = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'loupe-nats-')));
  const port = opts.port ?? (await freePort());
  const monitorPort = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    const args = ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)];
    const proc = spawn(binary as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    output = '';
    const keep = (chunk: Buffer): void => {
      // The tail is enough to say why a start failed.
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`nats-server exited at start (${proc.exitCode ?? proc.signalCode}):\n${output}`);
      }
      if (await probe(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited(proc);
        throw new Error(`nats-server did not accept connections on ${port} within ${START_TIMEOUT_MS} ms:\n${output}`);
      }
      await sleep(50);
    }
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = exited(proc);
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([gone, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      proc.kill('SIGKILL');
      await gone;
    }
  }

  await start();
  let closed = false;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    storeDir,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      await start();
    },
    async close() {
      if (closed) return;
      closed = true;
      await halt('SIGTERM');
      if (ownStore) await rm(storeDir, { recursive: true, force: true });
    },
  };
}
