import t from 'tap';
import { backoffDelay, isRetryableStatus, parseRetryAfter, retryDelay } from './retry-policy.js';

t.test('Retry-After in seconds or as an HTTP date', async (t) => {
  const now = Date.parse('2025-05-01T10:00:00Z');
  t.equal(parseRetryAfter('3', now), 3000);
  t.equal(parseRetryAfter(' 0 ', now), 0);
  t.equal(parseRetryAfter('Thu, 01 May 2025 10:00:30 GMT', now), 30_000);
  t.equal(parseRetryAfter('Thu, 01 May 2025 09:00:00 GMT', now), 0, 'a date in the past means now');
  t.equal(parseRetryAfter(null, now), undefined);
  t.equal(parseRetryAfter('soon', now), undefined);
  t.equal(parseRetryAfter('-5', now), undefined);
});

t.test('the server’s Retry-After wins over backoff, within the cap', async (t) => {
  t.equal(retryDelay(0, 5000, 500, 60_000), 5000);
  t.equal(retryDelay(0, 3_600_000, 500, 60_000), 60_000, 'an hour is capped');
  const d = retryDelay(2, undefined, 500, 60_000);
  t.ok(d >= 1000 && d <= 2000, `backoff for the third attempt is 1-2 s (${d})`);
});

t.test('backoff doubles and is jittered within half its ceiling', async (t) => {
  t.equal(backoffDelay(0, 100, 10_000, () => 0), 50);
  t.equal(backoffDelay(0, 100, 10_000, () => 1), 100);
  t.equal(backoffDelay(3, 100, 10_000, () => 1), 800);
  t.equal(backoffDelay(20, 100, 10_000, () => 1), 10_000, 'capped');
});

t.test('which statuses another delivery might get past', async (t) => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) t.ok(isRetryableStatus(s), String(s));
  for (const s of [400, 401, 403, 404, 405, 406, 410, 414, 422, 451, 501, 505]) t.notOk(isRetryableStatus(s), String(s));
});
