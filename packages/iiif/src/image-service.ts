/**
 * Recognising an Image API service (in a manifest or an info.json) and reading its version and
 * compliance level. Shared by the harvester and the info.json parser so that both agree.
 */

export type ImageApiVersion = 1 | 2 | 3;
export type ComplianceLevel = 0 | 1 | 2;

export interface ImageServiceTraits {
  /** True when something in the object says Image API (type, context, profile or protocol). */
  readonly isImageService: boolean;
  /** Undefined when nothing in the object tells the version. */
  readonly version: ImageApiVersion | undefined;
  /** Null when there is no profile or it names no known level (e.g. "level3"). */
  readonly level: ComplianceLevel | null;
  /** The compliance profile as written (the first string of a 2.x profile list). */
  readonly profile: string | undefined;
}

const TYPE = /^(?:iiif:)?ImageService([123])$/;
const CONTEXT = /^https?:\/\/iiif\.io\/api\/image\/([123])\/context\.json$/;
// Image API 1.1 servers published Stanford-hosted URIs before iiif.io existed.
const STANFORD_CONTEXT = /^https?:\/\/library\.stanford\.edu\/iiif\/image-api\/(?:1\.1\/)?context\.json$/;
const PROFILE = /^https?:\/\/iiif\.io\/api\/image\/([123])\/(?:profiles\/)?level(\d+)(?:\.json)?$/;
const STANFORD_PROFILE = /^https?:\/\/library\.stanford\.edu\/iiif\/image-api\/(?:1\.1\/)?(?:compliance|conformance)\.html#level(\d+)$/;
const V3_PROFILE = /^level(\d+)$/;
const PROTOCOL = 'http://iiif.io/api/image';

export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function firstString(value: unknown): string | undefined {
  return asArray(value).find((v): v is string => typeof v === 'string');
}

export function readTraits(service: Record<string, unknown>): ImageServiceTraits {
  const type = firstString(service.type) ?? firstString(service['@type']);
  const typeVersion = type === undefined ? undefined : TYPE.exec(type)?.[1];

  let contextVersion: string | undefined;
  for (const context of asArray(service['@context'])) {
    if (typeof context !== 'string') continue;
    contextVersion = CONTEXT.exec(context)?.[1] ?? (STANFORD_CONTEXT.test(context) ? '1' : undefined);
    if (contextVersion) break;
  }

  const profile = firstString(service.profile)?.trim();
  let profileVersion: string | undefined;
  let levelDigits: string | undefined;
  let bareLevel = false;
  if (profile !== undefined) {
    const iiif = PROFILE.exec(profile);
    const stanford = iiif ? null : STANFORD_PROFILE.exec(profile);
    const bare = iiif || stanford ? null : V3_PROFILE.exec(profile);
    profileVersion = iiif?.[1] ?? (stanford ? '1' : undefined);
    levelDigits = iiif?.[2] ?? stanford?.[1] ?? bare?.[1];
    bareLevel = bare !== null;
  }

  // A bare "levelN" profile is the 3.0 form; an upgraded 2.x service also carries one, but then
  // its type says ImageService2 and wins.
  const digits = typeVersion ?? contextVersion ?? profileVersion ?? (bareLevel ? '3' : undefined);
  const version = digits === undefined ? undefined : (Number(digits) as ImageApiVersion);
  const level = levelDigits === '0' || levelDigits === '1' || levelDigits === '2' ? (Number(levelDigits) as ComplianceLevel) : null;
  const isImageService = version !== undefined || firstString(service.protocol) === PROTOCOL || type === 'iiif:Image';
  return { isImageService, version, level, profile };
}

/** A service given only as a URL: guess the version from common path shapes (`/iiif/3/`, `/image/v2/`). */
export function versionFromUrl(url: string): ImageApiVersion | undefined {
  const match = /\/(?:iiif|image)(?:-api)?\/v?([123])(?:\.\d+)?\//i.exec(url);
  return match ? (Number(match[1]) as ImageApiVersion) : undefined;
}

/** The service base URI: no `/info.json`, no trailing slash, no surrounding blanks. */
export function serviceBase(id: string): string {
  return id.trim().replace(/\/info\.json$/i, '').replace(/\/+$/, '');
}
