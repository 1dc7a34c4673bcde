import fs from 'node:fs/promises';
import path from 'node:path';
import { LoupeError } from '@loupe/contracts';
import type { LoupeConfig } from '../config.js';
import { createEmbedded } from '../embedded.js';

export interface ExplainCommandOptions {
  /** Where the PNG (or the JSON) goes; standard output when absent. */
  readonly out?: string | undefined;
  readonly json?: boolean | undefined;
  readonly window?: string | undefined;
  readonly stride?: string | undefined;
  readonly baseline?: string | undefined;
}

/**
 * `loupe explain <annotation-key>`: the annotation's explanation through the same route as
 * GET /v1/annotations/{key}/explanation, answered in this process by ground-truth with classify
 * and detect beside it (they hold the models), so the one made is kept in the store as the API keeps it.
 */
export async function explainCommand(config: LoupeConfig, key: string, opts: ExplainCommandOptions, write: (bytes: Uint8Array) => Promise<void>, say: (line: string) => void): Promise<number> {
  const params = new URLSearchParams();
  if (opts.json) params.set('format', 'json');
  for (const name of ['window', 'stride', 'baseline'] as const) if (opts[name] !== undefined) params.set(name, opts[name]!);
  const embedded = await createEmbedded({ ...config, services: ['classify', 'detect', 'ground-truth'] });
  try {
    await embedded.app.start();
    const url = `/v1/annotations/${encodeURIComponent(key)}/explanation${params.size > 0 ? `?${params.toString()}` : ''}`;
    const res = await embedded.app.inject({ method: 'GET', url, headers: { authorization: embedded.app.localAuthorization } });
    if (res.statusCode !== 200) throw LoupeError.fromJSON(res.json());
    const body = opts.json ? Buffer.from(`${JSON.stringify(res.json(), null, 2)}\n`) : res.rawPayload;
    if (opts.out === undefined) await write(body);
    else {
      await fs.mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
      await fs.writeFile(opts.out, body);
      say(`wrote ${opts.out} (${body.length} bytes)`);
    }
    return 0;
  } finally {
    await embedded.close();
  }
}
