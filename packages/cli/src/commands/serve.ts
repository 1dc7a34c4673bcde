import type { LoupeConfig } from '../config.js';
import { createEmbedded } from '../embedded.js';
import { installSignalHandlers } from '@loupe/runtime';

/** The gateway and every service named by LOUPE_SERVICES in one process. */
export async function serveCommand(config: LoupeConfig): Promise<void> {
  const embedded = await createEmbedded(config);
  installSignalHandlers({ close: () => embedded.close() }, embedded.log);
  const { url } = await embedded.app.start({ port: config.port, host: config.host });
  embedded.log.info({ url, publicUrl: config.publicUrl, services: config.services, docs: `${config.publicUrl}/docs` }, 'loupe is ready');
}
