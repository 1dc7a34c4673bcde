import t from 'tap';
import { formatCauses, groupFailures, runExitCode } from './run-outcome.js';

const dns = (n: number) => ({ canvas: `https://example.org/c/${n}`, stage: 'preprocess', code: 'LOUPE_ERR_FETCH_DNS', message: `could not fetch https://images.example.invalid/${n}.jpg: the host images.example.invalid does not exist` });
const busy = { canvas: 'https://example.org/c/9', stage: 'preprocess', code: 'LOUPE_ERR_FETCH_HTTP_RETRYABLE', message: 'https://iiif.example.org/x/full/max/0/default.jpg: HTTP 503 after 4 attempts' };

t.test('failures grouped by code, the most frequent first, with a few examples and the fix', async (t) => {
  const causes = groupFailures([dns(1), busy, dns(2), dns(3), dns(4)], 3);
  t.match(causes, [
    { code: 'LOUPE_ERR_FETCH_DNS', count: 4, retryable: false, cause: 'no such host images.example.invalid', examples: ['https://example.org/c/1', 'https://example.org/c/2', 'https://example.org/c/3'] },
    { code: 'LOUPE_ERR_FETCH_HTTP_RETRYABLE', count: 1, retryable: true, cause: 'iiif.example.org overloaded or failing (408, 429 or 5xx)' },
  ]);
  t.same(formatCauses(causes).slice(0, 2), [
    "4 canvases: no such host images.example.invalid (LOUPE_ERR_FETCH_DNS, permanent): check the manifest's image URLs",
    '    https://example.org/c/1',
  ]);
  t.match(formatCauses(causes).at(-2), '1 canvas: iiif.example.org overloaded or failing (408, 429 or 5xx) (LOUPE_ERR_FETCH_HTTP_RETRYABLE, temporary): run the same command again later');
  const manifest = groupFailures([{ canvas: null, stage: 'harvest', code: 'LOUPE_ERR_SOMETHING_NEW', message: 'x' }]);
  t.match(formatCauses(manifest), ["the manifest: LOUPE_ERR_SOMETHING_NEW (LOUPE_ERR_SOMETHING_NEW, permanent): see each canvas's message in report.json"], 'an unknown code still says something');
});

t.test('exit codes: 0 all done, 3 some failed (0 when allowed), 4 nothing done', async (t) => {
  const tasks = (done: number, failed: number) => ({ total: done + failed, done, failed });
  t.equal(runExitCode({ state: 'done', tasks: tasks(2, 0), failures: [] }), 0);
  t.equal(runExitCode({ state: 'done', tasks: tasks(1, 1), failures: [dns(1)] }), 3);
  t.equal(runExitCode({ state: 'done', tasks: tasks(1, 1), failures: [dns(1)] }, true), 0);
  t.equal(runExitCode({ state: 'done', tasks: tasks(0, 2), failures: [dns(1), dns(2)] }, true), 4, 'allowing failures does not allow nothing');
  t.equal(runExitCode({ state: 'failed', tasks: tasks(0, 0), failures: [dns(1)] }), 4, 'the harvest failed');
  t.equal(runExitCode({ state: 'done', tasks: tasks(0, 0), failures: [] }), 0, 'an empty manifest: nothing to do, nothing failed');
  t.equal(runExitCode({ state: 'done', tasks: tasks(2, 0), failures: [{ canvas: 'c', stage: 'harvest', code: 'LOUPE_ERR_IMAGE_UNSUPPORTED', message: 'x' }] }), 3, 'a canvas skipped at harvest is a failure');
});
