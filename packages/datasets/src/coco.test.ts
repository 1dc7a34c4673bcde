import t from 'tap';
import { fromCoco, toCoco } from './coco.js';
import type { GroundTruthLabel, LabelledImage } from './model.js';
import { seededRandom as random } from './random.js';

const CLASSES = [
  { concept: 'http://data.europeana.eu/concept/3', label: 'Portrait' },
  { concept: 'http://www.wikidata.org/entity/Q146', label: 'cat' },
  { concept: 'http://www.wikidata.org/entity/Q144' }, // a concept without label
  { label: 'boat' }, // a label without concept
];

function generate(seed: number, count: number): LabelledImage[] {
  const rnd = random(seed);
  return Array.from({ length: count }, (_, i): LabelledImage => {
    const width = 200 + Math.floor(rnd() * 800);
    const height = 200 + Math.floor(rnd() * 800);
    const labels = Array.from({ length: Math.floor(rnd() * 5) }, (): GroundTruthLabel => {
      const cls = CLASSES[Math.floor(rnd() * CLASSES.length)]!;
      const x = rnd() * width * 0.5;
      const y = rnd() * height * 0.5;
      return {
        ...cls,
        box: { x, y, w: rnd() * (width - x), h: rnd() * (height - y) },
        ...(rnd() < 0.3 && { score: Math.round(rnd() * 1000) / 1000 }),
        ...(rnd() < 0.2 && { difficult: true }),
        ...(rnd() < 0.3 && { annotationId: `https://loupe.example/v1/annotations/a${i}-${rnd().toString(36).slice(2, 8)}` }),
      };
    });
    return {
      id: `https://iiif.example/canvas/${i}`,
      ...(i % 2 === 0 && { manifest: 'https://iiif.example/manifest.json' }),
      ...(i % 3 !== 0 && { url: `https://iiif.example/image/${i}/full/max/0/default.jpg` }),
      ...(i % 4 !== 1 && { file: `img-${i}.jpg` }),
      ...(i === 5 && { externalId: '/2064105/Museu_5' }),
      ...(i !== 7 && { width, height }),
      labels,
    };
  });
}

t.test('LabelledImage[] -> COCO -> JSON -> LabelledImage[] is the identity for boxed labels', async (t) => {
  for (const seed of [1, 2, 3]) {
    const images = generate(seed, 12);
    t.ok(images.flatMap((im) => im.labels).length >= 15, 'enough boxes to mean something');
    t.ok(images.some((im) => im.labels.some((l) => !Number.isInteger(l.box!.x))), 'fractional coordinates are in the data');
    const { coco, skipped } = toCoco(images);
    t.equal(skipped, 0);
    const back = fromCoco(JSON.parse(JSON.stringify(coco)));
    t.same(back, images, `seed ${seed}`);
    t.strictSame(back, images, `seed ${seed}, strictly`);
  }
});

t.test('toCoco writes what COCO readers expect', async (t) => {
  const images: LabelledImage[] = [
    {
      id: 'https://iiif.example/canvas/a',
      url: 'https://iiif.example/a.jpg',
      width: 640,
      height: 480,
      labels: [
        { concept: 'http://x/zebra', label: 'zebra', box: { x: 10.5, y: 20, w: 30, h: 40.25 } },
        { concept: 'http://x/ant', label: 'ant', box: { x: 0, y: 0, w: 1, h: 1 }, score: 0.75, difficult: true },
        { concept: 'http://x/ant', label: 'ant' }, // whole image: not a detection
        { text: 'Anno 1623', box: { x: 0, y: 0, w: 5, h: 5 } }, // a text line: no category
      ],
    },
    { id: 'https://iiif.example/canvas/b', labels: [{ label: 'mole', box: { x: 1, y: 2, w: 3, h: 4 } }] },
  ];
  const { coco, skipped } = toCoco(images, { info: { year: 2025 } });
  t.equal(skipped, 2, 'the whole-image label and the text line');
  t.same(coco.info, { description: 'Exported by Loupe', year: 2025 });
  t.same(coco.categories, [
    { id: 1, name: 'ant', loupe_concept: 'http://x/ant' },
    { id: 2, name: 'mole' },
    { id: 3, name: 'zebra', loupe_concept: 'http://x/zebra' },
  ], 'categories numbered by name');
  t.same(coco.images, [
    { id: 1, file_name: 'https://iiif.example/a.jpg', width: 640, height: 480, coco_url: 'https://iiif.example/a.jpg', loupe_canvas: 'https://iiif.example/canvas/a' },
    { id: 2, file_name: 'https://iiif.example/canvas/b', width: 0, height: 0, loupe_canvas: 'https://iiif.example/canvas/b' },
  ], 'file_name falls back to the URL, then the canvas id; unknown sizes are 0');
  t.same(coco.annotations, [
    { id: 1, image_id: 1, category_id: 3, bbox: [10.5, 20, 30, 40.25], area: 30 * 40.25, iscrowd: 0 },
    { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], area: 1, iscrowd: 1, score: 0.75 },
    { id: 3, image_id: 2, category_id: 2, bbox: [1, 2, 3, 4], area: 12, iscrowd: 0 },
  ]);
});

t.test('toCoco with given categories keeps their ids and skips labels outside them', async (t) => {
  const images: LabelledImage[] = [
    {
      id: 'c1',
      labels: [
        { concept: 'http://x/person', label: 'human', box: { x: 0, y: 0, w: 2, h: 2 } },
        { label: 'dog', box: { x: 1, y: 1, w: 2, h: 2 } },
        { label: 'unicorn', box: { x: 1, y: 1, w: 2, h: 2 } },
      ],
    },
  ];
  const { coco, skipped } = toCoco(images, { categories: [{ id: 1, name: 'person', concept: 'http://x/person' }, { id: 18, name: 'dog' }] });
  t.equal(skipped, 1, 'the unicorn');
  t.same(coco.annotations.map((a) => a.category_id), [1, 18], 'by concept, then by name');
  t.same(coco.categories, [{ id: 1, name: 'person', loupe_concept: 'http://x/person' }, { id: 18, name: 'dog' }]);
  t.throws(() => toCoco(images, { categories: [{ id: 1, name: 'a' }, { id: 1, name: 'b' }] }), { code: 'LOUPE_ERR_VALIDATION', message: /categories\[1\]/ });
});

t.test('fromCoco reads a plain COCO file without Loupe fields', async (t) => {
  const doc = {
    info: { description: 'COCO 2017 (a bit of it)' },
    images: [
      { id: 397133, file_name: '000000397133.jpg', width: 640, height: 427, coco_url: 'http://images.cocodataset.org/val2017/000000397133.jpg', license: 4 },
      { id: 37777, file_name: '000000037777.jpg', width: 352, height: 230 },
      { id: 5, file_name: 'no-annotations.jpg' },
    ],
    annotations: [
      { id: 82445, image_id: 397133, category_id: 44, bbox: [217.62, 240.54, 38.99, 57.75], area: 1481.38, iscrowd: 0, segmentation: [[1, 2, 3]] },
      { id: 900100, image_id: 37777, category_id: 1, bbox: [0, 10, 100, 120], area: 12000, iscrowd: 1, segmentation: { counts: [1], size: [230, 352] } },
      { id: 1, image_id: 397133, category_id: 1, bbox: [388.66, 69.92, 109.41, 277.62] },
    ],
    categories: [
      { supercategory: 'person', id: 1, name: 'person' },
      { supercategory: 'kitchen', id: 44, name: 'bottle' },
    ],
  };
  t.same(fromCoco(doc), [
    {
      id: 'http://images.cocodataset.org/val2017/000000397133.jpg',
      url: 'http://images.cocodataset.org/val2017/000000397133.jpg',
      file: '000000397133.jpg',
      width: 640,
      height: 427,
      labels: [
        { label: 'bottle', box: { x: 217.62, y: 240.54, w: 38.99, h: 57.75 } },
        { label: 'person', box: { x: 388.66, y: 69.92, w: 109.41, h: 277.62 } },
      ],
    },
    { id: '000000037777.jpg', file: '000000037777.jpg', width: 352, height: 230, labels: [{ label: 'person', box: { x: 0, y: 10, w: 100, h: 120 }, difficult: true }] },
    { id: 'no-annotations.jpg', file: 'no-annotations.jpg', labels: [] },
  ]);
  t.same(fromCoco({ images: [{ id: 1, file_name: 'a.jpg' }] }), [{ id: 'a.jpg', file: 'a.jpg', labels: [] }], 'no annotations or categories at all: a test split');
});

t.test('fromCoco names the bad path', async (t) => {
  const base = () => ({
    images: [{ id: 1, file_name: 'a.jpg', width: 10, height: 10 }],
    categories: [{ id: 1, name: 'a' }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] },
      { id: 2, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] },
    ] as Record<string, unknown>[],
  });
  const refused = (doc: unknown, path: RegExp, what: string) => t.throws(() => fromCoco(doc, { source: 'train.json' }), { name: 'LoupeError', code: 'LOUPE_ERR_VALIDATION', message: path }, what);
  refused([], /^train\.json: \(document\) is not a JSON object/, 'an array');
  refused({}, /images is missing/, 'no images');
  refused({ images: {} }, /images is not an array/, 'images not an array');
  const withBadBox = base();
  withBadBox.annotations[1]!['bbox'] = [0, 0, 1];
  refused(withBadBox, /annotations\[1\]\.bbox is not \[x, y, width, height\]/, 'a three-number bbox');
  const withString = base();
  withString.annotations[0]!['bbox'] = ['0', 0, 1, 1];
  refused(withString, /annotations\[0\]\.bbox/, 'a string coordinate');
  const negative = base();
  negative.annotations[0]!['bbox'] = [0, 0, -1, 1];
  refused(negative, /annotations\[0\]\.bbox has a negative width/, 'a negative width');
  const noImage = base();
  noImage.annotations[1]!['image_id'] = 9;
  refused(noImage, /annotations\[1\]\.image_id refers to no image \(9\)/, 'an unknown image');
  const noCategory = base();
  noCategory.annotations[0]!['category_id'] = 3;
  refused(noCategory, /annotations\[0\]\.category_id refers to no category/, 'an unknown category');
  const badScore = base();
  badScore.annotations[0]!['score'] = 'high';
  refused(badScore, /annotations\[0\]\.score/, 'a string score');
  refused({ ...base(), images: [{ id: 1.5, file_name: 'a.jpg' }] }, /images\[0\]\.id is not an integer id/, 'a fractional id');
  refused({ ...base(), images: [{ id: 1 }] }, /images\[0\]\.file_name is missing/, 'no file name');
  refused({ ...base(), images: [{ id: 1, file_name: 'a.jpg', width: -3 }] }, /images\[0\]\.width is not a positive number/, 'a negative width');
  refused({ ...base(), images: [{ id: 1, file_name: 'a.jpg' }, { id: 1, file_name: 'b.jpg' }] }, /images\[1\]\.id repeats image id 1/, 'an image id twice');
  refused({ ...base(), images: [{ id: 1, file_name: 'a.jpg' }, { id: 2, file_name: 'a.jpg' }] }, /images\[1\] names the same image as images\[0\]/, 'a file twice');
  refused({ ...base(), categories: [{ id: 1 }] }, /categories\[0\]\.name is missing/, 'a nameless category');
});
