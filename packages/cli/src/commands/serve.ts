import { LoupeError } from '@loupe/contracts';
import type { LoupeConfig } from '../config.js';
import { listenEarly } from '../early-health.server.js';

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '::ffff:127.0.0.1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * An open API is for a person's own machine: on any other address, serving needs API keys or an
 * OIDC issuer, or the operator's explicit word that a proxy in front authenticates. Resolves
 * whether the API will be open.
 */
export async function assertSafeToServe(config: LoupeConfig): Promise<{ open: boolean }> {
  const { readKeyFile } = await import('@loupe/runtime');
  const open = !config.auth.oidc && (await readKeyFile(config.auth.keysFile)).length === 0;
  if (!open || isLoopback(config.host) || config.auth.insecureNoAuth) return { open };
  throw new LoupeError(
    'LOUPE_ERR_CONFIG_INVALID',
    `refusing to serve on ${config.host} without authentication: anyone who reaches it could start jobs, review and delete. ` +
      `Create an API key (loupe keys create --name NAME --role admin; file ${config.auth.keysFile}), set LOUPE_OIDC_ISSUER, ` +
      'listen on 127.0.0.1 (LOUPE_HOST), or, only behind a proxy that authenticates, pass --insecure-no-auth (LOUPE_INSECURE_NO_AUTH=1)',
  );
}

/**
 * What a person at the terminal needs once the port answers: where to click, and whether the API
 * asks for credentials. Links go to the address listened on when it is this machine's own, since
 * that is the one the person can open; otherwise to the public URL.
 */
export function startBanner(config: LoupeConfig, url: string, open: boolean): string[] {
  const base = isLoopback(config.host) ? url : config.publicUrl;
  const auth = open
    ? `off: anyone who reaches ${config.host}:${new URL(url).port} may use the API (loupe keys create turns it on)`
    : `on: ${[config.auth.oidc && `OIDC tokens from ${config.auth.oidc.issuer}`, `API keys (${config.auth.keysFile})`].filter(Boolean).join(' or ')}`;
  return [
    `loupe is ready at ${base} (services: ${config.services.join(', ')})`,
    `  review page  ${base}/review`,
    `  API docs     ${base}/docs`,
    `  health       ${base}/healthz, ${base}/readyz`,
    `  auth         ${auth}`,
    ...(base !== config.publicUrl ? [`  public URL   ${config.publicUrl} (the ids Loupe writes)`] : []),
    '  Ctrl-C stops',
  ];
}

/**
 * The gateway and every service named by LOUPE_SERVICES in one process. `say` takes the start
 * banner (standard output: the logs have standard error).
 */
export async function serveCommand(config: LoupeConfig, say: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)): Promise<void> {
  // The port opens first, the services load behind it: /healthz answers within a second of start
  // and /readyz says 503 until every service is ready. Before the safety check, which loads the
  // HTTP stack: until the app takes over, the port answers nothing but /healthz and /readyz, and
  // a refusal closes it again.
  const early = await listenEarly({ port: config.port, host: config.host });
  let open: boolean;
  let embedded;
  try {
    ({ open } = await assertSafeToServe(config));
    const { createEmbedded } = await import('../embedded.js');
    embedded = await createEmbedded(config);
  } catch (err) {
    await early.close();
    throw err;
  }
  const app = embedded.app;
  const { installSignalHandlers } = await import('@loupe/runtime');
  installSignalHandlers(
    {
      close: async () => {
        await embedded.close();
        await early.close();
      },
    },
    embedded.log,
  );
  // Routes compiled, then the app answers on the open port while its services start (models load).
  await app.fastify.ready();
  early.handOff(app.fastify);
  await app.start();
  const { url } = early;
  if (open && !isLoopback(config.host)) {
    embedded.log.warn({ host: config.host }, 'serving without authentication of its own (--insecure-no-auth): a proxy in front must authenticate every request');
  }
  embedded.log.info({ url, publicUrl: config.publicUrl, services: config.services, docs: `${config.publicUrl}/docs`, review: `${config.publicUrl}/review`, auth: !open }, 'loupe is ready');
  for (const line of startBanner(config, url, open)) say(line);
}
