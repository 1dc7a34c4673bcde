// The measuring stick of the detect quality script (test/quality/detect-ground-truth.json) read with
// the box metrics it is scored by; they live in @loupe/datasets, the file and its images belong here.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateDetections, parseGroundTruth, type PerImage, type ScoredDetection } from '@loupe/datasets';
import sharp from 'sharp';
import t from 'tap';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const GROUND_TRUTH = join(repoRoot, 'test', 'quality', 'detect-ground-truth.json');
const FIXTURE_IMAGES = join(repoRoot, '..', 'shared', 'fixtures', 'images');

t.test('the detect ground truth file is well formed', async (t) => {
  const images = parseGroundTruth(JSON.parse(readFileSync(GROUND_TRUTH, 'utf8')));
  t.equal(images.length, 12, 'twelve images');
  const count = (cls: string, difficult: boolean) => images.flatMap((i) => i.objects).filter((o) => o.class === cls && (o.difficult === true) === difficult).length;
  t.same([count('person', false), count('person', true), count('face', false), count('face', true)], [30, 10, 17, 5], 'object counts as annotated');
  t.ok(images.some((i) => i.objects.length === 0), 'at least one negative image');
  const gt = Object.fromEntries(images.map((i) => [i.file, i.objects]));
  const perfect: PerImage<ScoredDetection> = Object.fromEntries(images.map((i) => [i.file, i.objects.filter((o) => !o.difficult).map((o) => ({ ...o, score: 1 }))]));
  t.equal(evaluateDetections(gt, perfect, { classes: ['person', 'face'] }).map, 1, 'the ground truth scored against itself is perfect');
});

t.test('the detect ground truth matches the fixture images', { skip: existsSync(FIXTURE_IMAGES) ? false : `no fixture images at ${FIXTURE_IMAGES} (the shared folder sits beside the repository)` }, async (t) => {
  const images = parseGroundTruth(JSON.parse(readFileSync(GROUND_TRUTH, 'utf8')));
  for (const image of images) {
    const meta = await sharp(join(FIXTURE_IMAGES, image.file)).metadata();
    t.same([meta.width, meta.height], [image.width, image.height], `${image.file} is ${image.width}x${image.height}`);
  }
});
