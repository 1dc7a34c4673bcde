// The API client and its key: asked for when the API answers 401; behind a proxy that
// authenticates, never. Paths are relative, so the page works under a proxy's prefix.
import { $ } from './dom.helpers.js';
import { ApiError, messageOf, say } from './status.view.js';

// The API key lives in sessionStorage: gone when the tab closes, never in the URL or localStorage.
const API_KEY = 'loupe.apiKey';

let apiKey = '';
try {
  apiKey = sessionStorage.getItem(API_KEY) || '';
} catch {
  apiKey = '';
}
let keyAsked: Promise<void> | null = null;
let keyAnswered: (() => void) | null = null;

/** Applies the key this tab kept (sessionStorage) to the page, at start. */
export function applyStoredKey(): void {
  useKey(apiKey);
}

export function hasKey(): boolean {
  return apiKey !== '';
}

export function useKey(key: string): void {
  apiKey = key;
  try {
    if (key) sessionStorage.setItem(API_KEY, key);
    else sessionStorage.removeItem(API_KEY);
  } catch {
    // Storage refused (a private window): the key still applies to this page.
  }
  // An authenticated review records the key's holder; the typed name would be ignored.
  document.querySelector<HTMLElement>('.bar .reviewer')!.hidden = Boolean(key);
  $('key-change').hidden = !key;
}

/** Shows the key form; every request that met a 401 waits for the same answer. */
function askForKey(why: string): Promise<void> {
  if (!keyAsked) {
    keyAsked = new Promise((resolve) => (keyAnswered = resolve));
    $('key-why').textContent = why;
    $('api-key').value = '';
    $('key-form').hidden = false;
    $('api-key').focus();
    say(why);
  }
  return keyAsked;
}

export function keyGiven(event: Event): void {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) return;
  $('key-form').hidden = true;
  $('api-key').value = '';
  useKey(key);
  const answered = keyAnswered;
  keyAsked = keyAnswered = null;
  if (answered) answered();
}

export type Params = Record<string, string | number | null | undefined>;

/** The JSON body of a successful answer; its shape is the caller's claim, as the API documents it. */
export async function api<T>(path: string, params?: Params | null, init?: RequestInit): Promise<T> {
  let url = path;
  if (params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
    }
    const text = query.toString();
    if (text) url += '?' + text;
  }
  const response = await authorized(url, init, 'application/json');
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    // Loupe answers {code, message, status, ...}; a proxy in front may wrap it in {error: ...}.
    const error = errorOf(body);
    if (error && typeof error.code === 'string') throw new ApiError(error.code, error.message ? String(error.message) : 'no message');
    throw new ApiError('HTTP_' + response.status, url + ' answered ' + response.status + ' ' + response.statusText);
  }
  if (body === null) throw new ApiError('BAD_RESPONSE', url + ' did not answer JSON');
  return body as T;
}

/** A fetch with the key, asking for one on 401 and trying again once it is given. */
async function authorized(url: string, init: RequestInit | undefined, accept: string): Promise<Response> {
  for (;;) {
    const headers: Record<string, string> = Object.assign({ accept }, init && (init.headers as Record<string, string> | undefined));
    if (apiKey) headers.authorization = 'Bearer ' + apiKey;
    let response: Response;
    try {
      response = await fetch(url, Object.assign({}, init || {}, { headers }));
    } catch (err) {
      throw new ApiError('NETWORK', 'cannot reach Loupe for ' + url + ' (' + messageOf(err) + ')');
    }
    if (response.status !== 401) return response;
    const refused = Boolean(apiKey);
    useKey('');
    await askForKey(refused ? 'That key was refused: enter another API key.' : 'This Loupe needs an API key (a curator key to review).');
  }
}

/** An image the API answers (an explanation's overlay): fetched with the key, since an <img> cannot send one. */
export async function apiImage(path: string): Promise<Blob> {
  const response = await authorized(path, undefined, 'image/png');
  if (response.ok) return response.blob();
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = errorOf(body);
  if (error && typeof error.code === 'string') throw new ApiError(error.code, error.message ? String(error.message) : 'no message');
  throw new ApiError('HTTP_' + response.status, path + ' answered ' + response.status + ' ' + response.statusText);
}

function errorOf(body: unknown): { code?: unknown; message?: unknown } | null {
  if (!body || typeof body !== 'object') return null;
  const wrapped = (body as { error?: unknown }).error;
  return wrapped && typeof wrapped === 'object' ? wrapped : body;
}

export function post<T>(path: string, body: unknown): Promise<T> {
  return api<T>(path, null, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
