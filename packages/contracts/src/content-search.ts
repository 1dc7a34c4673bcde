/**
 * Where a manifest's IIIF Content Search services live. IIIF clients append `?q=...` to a
 * service's id, so the manifest is named in the path, not the query: its id as base64url.
 */
export function manifestKey(manifestId: string): string {
  return Buffer.from(manifestId, 'utf8').toString('base64url');
}

/** The manifest id a key names, or undefined when the key is not one `manifestKey` made. */
export function manifestFromKey(key: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) return undefined;
  const id = Buffer.from(key, 'base64url').toString('utf8');
  return manifestKey(id) === key ? id : undefined;
}

export interface SearchServiceUrls {
  /** Content Search 2.0 (`SearchService2`) and its autocomplete (`AutoCompleteService2`). */
  readonly search2: string;
  readonly autocomplete2: string;
  /** Content Search 1.0, for viewers that still speak it (Universal Viewer). */
  readonly search1: string;
  readonly autocomplete1: string;
}

export function searchServiceUrls(publicUrl: string, manifestId: string): SearchServiceUrls {
  const key = manifestKey(manifestId);
  return {
    search2: `${publicUrl}/v1/iiif/search/2/${key}`,
    autocomplete2: `${publicUrl}/v1/iiif/autocomplete/2/${key}`,
    search1: `${publicUrl}/v1/iiif/search/1/${key}`,
    autocomplete1: `${publicUrl}/v1/iiif/autocomplete/1/${key}`,
  };
}
