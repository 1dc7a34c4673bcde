import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LoupeError, ROLES, type Principal, type Role } from '@loupe/contracts';

/**
 * API keys: `loupe_<id>_<secret>`, the secret 32 random bytes (base64url). The keys file keeps
 * only SHA-256 of the secret: with 256 bits of entropy a plain hash cannot be reversed, so a slow
 * password hash would add cost to every request and no safety.
 */
export interface StoredKey {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly created: string;
  /** base64url SHA-256 of the secret. */
  readonly hash: string;
  /** The secret's last four characters, to tell keys apart in a list. */
  readonly last4: string;
  readonly revoked?: string;
}

/** What `loupe keys list` shows: everything but the hash. */
export type KeyView = Omit<StoredKey, 'hash'> & { readonly prefix: string };

interface KeyFile {
  readonly version: 1;
  readonly keys: readonly StoredKey[];
}

const TOKEN = /^loupe_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const NAME = /^[\p{L}\p{N} ._@-]{1,100}$/u;

const hashOf = (secret: string): string => createHash('sha256').update(secret).digest('base64url');
export const keyPrefix = (id: string): string => `loupe_${id}_`;
const view = ({ hash: _hash, ...key }: StoredKey): KeyView => ({ ...key, prefix: keyPrefix(key.id) });

function invalidFile(file: string, why: string): LoupeError {
  return new LoupeError('LOUPE_ERR_CONFIG_INVALID', `the API keys file ${file} ${why}`, { details: { file } });
}

function parseKeyFile(file: string, text: string): KeyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalidFile(file, 'is not JSON');
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if ((doc as { version?: unknown })?.version !== 1 || !Array.isArray(keys)) throw invalidFile(file, 'is not a version 1 keys file');
  for (const key of keys as StoredKey[]) {
    const ok = typeof key?.id === 'string' && typeof key.hash === 'string' && typeof key.name === 'string' && (ROLES as readonly string[]).includes(key.role);
    if (!ok) throw invalidFile(file, 'holds an entry that is not a key (id, name, role, hash)');
  }
  return { version: 1, keys };
}

/** The keys file; a missing file holds no keys. */
export async function readKeyFile(file: string): Promise<readonly StoredKey[]> {
  try {
    return parseKeyFile(file, await fs.readFile(file, 'utf8')).keys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Temp file and rename: a reader sees the old file or the new one, never half of one. */
async function writeKeyFile(file: string, keys: readonly StoredKey[]): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ version: 1, keys } satisfies KeyFile, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

/** Makes a key; the token is returned this once and never stored. */
export async function createApiKey(file: string, opts: { name: string; role: Role; now?: Date }): Promise<{ key: KeyView; token: string }> {
  if (!NAME.test(opts.name)) throw new LoupeError('LOUPE_ERR_VALIDATION', 'a key name is 1 to 100 letters, digits, spaces or . _ @ -');
  if (!(ROLES as readonly string[]).includes(opts.role)) throw new LoupeError('LOUPE_ERR_VALIDATION', `a key's role is one of ${ROLES.join(', ')}`);
  const keys = await readKeyFile(file);
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const key: StoredKey = { id, name: opts.name, role: opts.role, created: (opts.now ?? new Date()).toISOString(), hash: hashOf(secret), last4: secret.slice(-4) };
  await writeKeyFile(file, [...keys, key]);
  return { key: view(key), token: `${keyPrefix(id)}${secret}` };
}

export async function listApiKeys(file: string): Promise<readonly KeyView[]> {
  return (await readKeyFile(file)).map(view);
}

/** Marks a key revoked (kept, so the list shows who had access and until when). */
export async function revokeApiKey(file: string, id: string, now = new Date()): Promise<KeyView> {
  const keys = await readKeyFile(file);
  const found = keys.find((k) => k.id === id || keyPrefix(k.id) === id);
  if (!found) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no key ${JSON.stringify(id)} in ${file}`, { details: { id } });
  const revoked: StoredKey = found.revoked ? found : { ...found, revoked: now.toISOString() };
  await writeKeyFile(file, keys.map((k) => (k === found ? revoked : k)));
  return view(revoked);
}

export const looksLikeApiKey = (token: string): boolean => token.startsWith('loupe_');

export interface KeyVerifierOptions {
  /** How often, at most, the file is checked for changes (default 1000 ms). */
  readonly checkEveryMs?: number;
  readonly now?: () => number;
  readonly warn?: (message: string) => void;
}

export interface KeyVerifier {
  /** The key's principal; AUTH_INVALID for a token that is not a live key of this file. */
  verify(token: string): Promise<Principal>;
  /** Whether the file holds any key (revoked ones too): from then on the API is closed. */
  hasKeys(): Promise<boolean>;
}

/**
 * Verifies tokens against the keys file, re-reading it when its inode, size or mtime changed
 * (checked at most once per `checkEveryMs`): `loupe keys revoke` takes effect within a second,
 * without a restart. An unreadable file fails closed: every key is refused until it is fixed.
 */
export function apiKeyVerifier(file: string, opts: KeyVerifierOptions = {}): KeyVerifier {
  const checkEveryMs = opts.checkEveryMs ?? 1000;
  const now = opts.now ?? Date.now;
  let keys = new Map<string, StoredKey>();
  let broken: LoupeError | undefined;
  let signature = '';
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  let warnedMode = false;

  async function reload(): Promise<void> {
    let stat;
    try {
      stat = await fs.stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      keys = new Map();
      broken = undefined;
      signature = 'missing';
      return;
    }
    const next = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (next === signature) return;
    // Group access is how Kubernetes lets a non-root container read a mounted Secret (fsGroup): only "other" is warned about.
    if (stat.mode & 0o007 && !warnedMode) {
      warnedMode = true;
      opts.warn?.(`the API keys file ${file} is readable by every user (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    try {
      keys = new Map((await readKeyFile(file)).map((k) => [k.id, k]));
      broken = undefined;
    } catch (err) {
      keys = new Map();
      // Callers learn that keys cannot be checked, not where the file lives; the log says why.
      broken = new LoupeError('LOUPE_ERR_CONFIG_INVALID', 'the API keys cannot be read: an operator must fix the keys file (see the server log)');
      opts.warn?.(`every API key is refused: ${err instanceof LoupeError ? err.message : `the API keys file ${file} cannot be read (${(err as Error).message})`}`);
    }
    signature = next;
  }

  async function current(): Promise<void> {
    if (now() - checkedAt >= checkEveryMs) {
      checkedAt = now();
      checking ??= reload().finally(() => (checking = undefined));
    }
    await checking;
    if (broken) throw broken;
  }

  return {
    async verify(token) {
      await current();
      const match = TOKEN.exec(token);
      const key = match ? keys.get(match[1]!) : undefined;
      const given = Buffer.from(hashOf(match?.[2] ?? ''));
      const stored = Buffer.from(key?.hash ?? hashOf('no such key'));
      // Hashed first, so both sides have the same length and the comparison time says nothing.
      const same = given.length === stored.length && timingSafeEqual(given, stored);
      if (!key || !same || key.revoked) throw new LoupeError('LOUPE_ERR_AUTH_INVALID', 'the API key is not valid (unknown, revoked or mistyped)');
      return { id: key.id, name: key.name, roles: [key.role], via: 'key' };
    },
    async hasKeys() {
      await current().catch(() => undefined);
      return keys.size > 0 || broken !== undefined;
    },
  };
}
