import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LoupeError, ROLES, type Principal, type Role } from '@loupe/contracts';

export interface OidcOptions {
  /** Exactly the `iss` tokens carry. */
  readonly issuer: string;
  /** The `aud` tokens must carry, when set. */
  readonly audience?: string | undefined;
  /** The issuer's JWKS; found through `<issuer>/.well-known/openid-configuration` when absent. */
  readonly jwksUrl?: string | undefined;
  /** Claim holding the token's Loupe roles: a string or an array; a dotted path reaches into objects (`realm_access.roles`). */
  readonly rolesClaim: string;
  /** Seconds of clock skew accepted on exp and nbf (default 30). */
  readonly clockToleranceSec?: number;
}

/** Asymmetric algorithms only: a JWKS holds public keys, so `none` and HS* never verify against it. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** jose's codes for a token that is wrong, as opposed to an issuer that cannot be reached. */
const TOKEN_FAULTS = new Set<string>([
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

function unreachable(issuer: string, cause: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_NOT_READY', `the identity provider ${issuer} cannot be reached to verify the token`, { cause, details: { issuer } });
}

/** The JWKS URL from the issuer's discovery document, which must name the same issuer. */
async function discoverJwks(issuer: string): Promise<string> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (doc.issuer !== issuer) throw new Error(`discovery names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`);
  if (typeof doc.jwks_uri !== 'string') throw new Error('discovery names no jwks_uri');
  return doc.jwks_uri;
}

function claimAt(payload: JWTPayload, claim: string): unknown {
  if (Object.hasOwn(payload, claim)) return payload[claim];
  let value: unknown = payload;
  for (const part of claim.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

function rolesOf(value: unknown): Role[] {
  const names = typeof value === 'string' ? value.split(/[\s,]+/) : Array.isArray(value) ? value : [];
  return ROLES.filter((role) => names.includes(role));
}

/**
 * Verifies OIDC/JWT bearer tokens against the issuer's JWKS (fetched on first use, refetched by
 * jose on an unknown `kid`, at most every 30 s). The issuer is the operator's configuration, not
 * caller input, so these requests do not go through the egress policy.
 */
export function oidcVerifier(opts: OidcOptions): (token: string) => Promise<Principal> {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = (): Promise<JWTVerifyGetKey> => {
    keys ??= (opts.jwksUrl ? Promise.resolve(opts.jwksUrl) : discoverJwks(opts.issuer)).then((url) =>
      createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 }),
    );
    // A failed discovery is tried again on the next token, not remembered.
    keys.catch(() => (keys = undefined));
    return keys;
  };

  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await keySet(), {
        issuer: opts.issuer,
        ...(opts.audience !== undefined && { audience: opts.audience }),
        algorithms: ALGORITHMS,
        clockTolerance: opts.clockToleranceSec ?? 30,
      }));
    } catch (err) {
      if (err instanceof errors.JOSEError && TOKEN_FAULTS.has(err.code)) {
        throw new LoupeError('LOUPE_ERR_AUTH_INVALID', `the bearer token is not valid: ${err.message}`);
      }
      throw unreachable(opts.issuer, err);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new LoupeError('LOUPE_ERR_AUTH_INVALID', 'the bearer token has no subject (sub)');
    const name = typeof payload.preferred_username === 'string' ? payload.preferred_username : typeof payload.name === 'string' ? payload.name : undefined;
    return { id: payload.sub, ...(name !== undefined && { name }), roles: rolesOf(claimAt(payload, opts.rolesClaim)), via: 'oidc' };
  };
}
