import { LoupeError, ROLES, type Role } from '@loupe/contracts';
import { createApiKey, listApiKeys, revokeApiKey } from '@loupe/runtime';
import type { LoupeConfig } from '../config.js';

/**
 * `loupe keys create|list|revoke`: the API keys in LOUPE_KEYS_FILE. A running server re-reads the
 * file within a second, so a new or revoked key takes effect without a restart.
 */
export async function keysCommand(
  config: LoupeConfig,
  action: string | undefined,
  arg: string | undefined,
  opts: { name?: string | undefined; role?: string | undefined; json?: boolean | undefined },
  write: (line: string) => void,
  say: (line: string) => void,
): Promise<number> {
  const file = config.auth.keysFile;
  switch (action) {
    case 'create': {
      if (!opts.name) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe keys create needs --name NAME (who or what holds the key)');
      if (!(ROLES as readonly string[]).includes(opts.role ?? '')) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `loupe keys create needs --role ${ROLES.join('|')}; got ${JSON.stringify(opts.role ?? '')}`);
      }
      const { key, token } = await createApiKey(file, { name: opts.name, role: opts.role as Role });
      // The token alone on standard output, for `$(loupe keys create ...)`; the rest goes to stderr.
      write(token);
      say(`created key ${key.id} (${key.name}, ${key.role}) in ${file}; this is the only time the key is shown: store it now`);
      return 0;
    }
    case 'list': {
      const keys = await listApiKeys(file);
      if (opts.json) {
        for (const key of keys) write(JSON.stringify(key));
        return 0;
      }
      if (keys.length === 0) say(`no keys in ${file}: the API is open (loupe serve allows that on a loopback address only)`);
      for (const k of keys) write([k.id, k.role.padEnd(8), `${k.prefix}…${k.last4}`, k.created, k.revoked ? `revoked ${k.revoked}` : 'active ', k.name].join('  '));
      return 0;
    }
    case 'revoke': {
      if (!arg) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe keys revoke needs the id of a key (loupe keys list shows them)');
      const key = await revokeApiKey(file, arg);
      say(`revoked key ${key.id} (${key.name}); a running server refuses it within a second`);
      return 0;
    }
    default:
      throw new LoupeError('LOUPE_ERR_VALIDATION', `unknown keys command ${JSON.stringify(action ?? '')}: create, list or revoke`);
  }
}
