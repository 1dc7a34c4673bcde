import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoupeError } from '@loupe/contracts';
import t from 'tap';
import { parseImageInfo } from './image-info.js';
import { parseJsonDocument } from './json-document.js';
import { planImageRequest } from './planner.js';
import { harvestAll } from './harvest.js';
import { recordServices } from './presentation-2.js';
import { readCanvas, type RawService } from './presentation-3.js';
import { parseManifest } from './presentation.js';
import type { DocumentLoader, HarvestedManifest, ImageInfo } from './types.js';

// The shared fixtures live beside the repository: <repo>/../shared/fixtures/iiif.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(repoRoot, '..', 'shared', 'fixtures', 'iiif');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => path.endsWith('.json') && statSync(path).isFile())
    .sort();
}

const name = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * Documents are loaded from the fixture folders: by path, or by their own id when a collection names
 * a member that happens to be a fixture. Anything else is remote, and there is no network here.
 */
function fixtureLoader(): DocumentLoader {
  const byId = new Map<string, string>();
  for (const folder of ['manifests', 'collections']) {
    const dir = join(FIXTURES, folder);
    if (!existsSync(dir)) continue;
    for (const path of filesUnder(dir)) {
      try {
        const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
        const id = json.id ?? json['@id'];
        if (typeof id === 'string' && !byId.has(id.trim())) byId.set(id.trim(), path);
      } catch {
        // Not JSON: reachable by path only.
      }
    }
  }
  return async (ref: string) => {
    const path = ref.startsWith(FIXTURES) ? ref : byId.get(ref);
    if (path === undefined) {
      throw new LoupeError('LOUPE_ERR_FETCH_NETWORK', `${ref} is not available offline in this test`, { details: { url: ref } });
    }
    return parseJsonDocument(readFileSync(path), ref);
  };
}

interface ManifestExpectation {
  readonly canvases: number;
  readonly images: number;
  readonly withService: number;
  readonly withoutImages: number;
  /** Images whose chosen service is Image API 1, 2, 3. */
  readonly serviceVersions: readonly [number, number, number];
}
type Outcome<T> = T | { readonly error: string };

// Counted from each file (python and jq over the JSON), not from this code's output.
const MANIFESTS: Record<string, Outcome<ManifestExpectation>> = {
  'p2-artic-27992.json': { canvases: 2, images: 2, withService: 2, withoutImages: 0, serviceVersions: [0, 2, 0] },
  // 84 of 322 canvases have no images; Image API 1.1 and 2 services mixed.
  'p2-biblissima-florus-empty-canvases-322.json': { canvases: 322, images: 238, withService: 238, withoutImages: 84, serviceVersions: [128, 110, 0] },
  'p2-bl-manifest-auth-tiles.json': { canvases: 20, images: 20, withService: 20, withoutImages: 0, serviceVersions: [0, 20, 0] },
  'p2-bodleian-nested-ranges-920-canvases.json': { canvases: 920, images: 920, withService: 920, withoutImages: 0, serviceVersions: [0, 920, 0] },
  'p2-bodleian-rtl-mixed-imageapi-1-and-2.json': { canvases: 149, images: 149, withService: 149, withoutImages: 0, serviceVersions: [86, 63, 0] },
  'p2-davidrumsey-map.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  // oa:Choice bodies: 72 images on 19 canvases.
  'p2-dlcs-codex-xolotl-choice-level0.json': { canvases: 19, images: 72, withService: 72, withoutImages: 0, serviceVersions: [0, 72, 0] },
  'p2-dlcs-level0-sizes-only.json': { canvases: 24, images: 24, withService: 24, withoutImages: 0, serviceVersions: [0, 24, 0] },
  'p2-ecodices-aarau-service-as-string.json': { canvases: 210, images: 210, withService: 210, withoutImages: 0, serviceVersions: [0, 210, 0] },
  'p2-ecodices-gau-fragment-two-images-per-canvas.json': { canvases: 29, images: 37, withService: 37, withoutImages: 0, serviceVersions: [0, 37, 0] },
  'p2-europeana-BibliographicResource_3000126341277.json': { canvases: 2, images: 2, withService: 2, withoutImages: 0, serviceVersions: [0, 2, 0] },
  // Every property a list, @type included.
  'p2-everything-a-list.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p2-gallica-btv1b53243704g-imageapi1.json': { canvases: 5, images: 5, withService: 5, withoutImages: 0, serviceVersions: [5, 0, 0] },
  // One Choice of 19 options plus 4 images painted on a region of the canvas.
  'p2-hamilton-letter-choice-5-images.json': { canvases: 1, images: 23, withService: 23, withoutImages: 0, serviceVersions: [0, 23, 0] },
  'p2-harvard-artmuseums-299843.json': { canvases: 6, images: 6, withService: 6, withoutImages: 0, serviceVersions: [0, 6, 0] },
  'p2-heidelberg-schinkel-service-string.json': { canvases: 51, images: 51, withService: 51, withoutImages: 0, serviceVersions: [0, 51, 0] },
  // No @context; canvas ids end in ".jpg" (the upgrader types them Image).
  'p2-iiifauth-test.json': { canvases: 13, images: 13, withService: 13, withoutImages: 0, serviceVersions: [0, 13, 0] },
  'p2-malformed-image-annotation.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p2-nls-ranges-nonservice-images.json': { canvases: 40, images: 40, withService: 40, withoutImages: 0, serviceVersions: [0, 40, 0] },
  'p2-not-iiif-json.json': { error: 'LOUPE_ERR_IIIF_NOT_IIIF' },
  'p2-stanford-fg165hz3589.json': { canvases: 5, images: 5, withService: 5, withoutImages: 0, serviceVersions: [0, 5, 0] },
  'p2-wellcome-clinical-auth-level0.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p2-wikimedia-proxy-level0.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p2-yale-osborn-fa1-imageapi1.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [1, 0, 0] },
  // Each image lists ImageService2 and ImageService3: the 3 is taken.
  'p3-bl-or11828-517-canvases-mixed-imageapi.json': { canvases: 517, images: 517, withService: 517, withoutImages: 0, serviceVersions: [0, 0, 517] },
  // Six audio canvases (a Choice of DASH/HLS audio): no images.
  'p3-bl-ranges-auth-choice.json': { canvases: 6, images: 0, withService: 0, withoutImages: 6, serviceVersions: [0, 0, 0] },
  'p3-bodleian-imageapi2-in-p3.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p3-codex-xolotl-choice-imageapi3.json': { canvases: 17, images: 68, withService: 68, withoutImages: 0, serviceVersions: [0, 0, 68] },
  'p3-cookbook-0006-text-language.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 0, 1] },
  'p3-cookbook-0033-choice.json': { canvases: 1, images: 2, withService: 2, withoutImages: 0, serviceVersions: [0, 0, 2] },
  'p3-cookbook-0036-composition.json': { canvases: 1, images: 2, withService: 2, withoutImages: 0, serviceVersions: [0, 0, 2] },
  'p3-cookbook-0040-image-rotation-service.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 0, 1] },
  // A video canvas.
  'p3-cookbook-0229-behavior-ranges.json': { canvases: 1, images: 0, withService: 0, withoutImages: 1, serviceVersions: [0, 0, 0] },
  'p3-cookbook-0283-missing-image.json': { canvases: 4, images: 3, withService: 3, withoutImages: 1, serviceVersions: [0, 0, 3] },
  'p3-delft-level0.json': { canvases: 29, images: 29, withService: 29, withoutImages: 0, serviceVersions: [0, 29, 0] },
  'p3-ghent-cuneiform-choices.json': { canvases: 1, images: 11, withService: 11, withoutImages: 0, serviceVersions: [0, 11, 0] },
  'p3-hamilton-letter-choice-5-images.json': { canvases: 1, images: 23, withService: 23, withoutImages: 0, serviceVersions: [0, 23, 0] },
  'p3-iaw-specific-resource-none-lang.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 0, 1] },
  'p3-ldmax-rtl.json': { canvases: 6, images: 6, withService: 6, withoutImages: 0, serviceVersions: [0, 0, 6] },
  'p3-ncsu-service-list-and-object.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p3-text-pdf-no-images.json': { canvases: 1, images: 0, withService: 0, withoutImages: 1, serviceVersions: [0, 0, 0] },
  'p3-tudelft-exhibition-4-images-per-canvas.json': { canvases: 1, images: 4, withService: 4, withoutImages: 0, serviceVersions: [0, 4, 0] },
  'p3-validator-imageapi2-service.json': { canvases: 1, images: 1, withService: 1, withoutImages: 0, serviceVersions: [0, 1, 0] },
  'p3-wellcome-level0-sizes.json': { canvases: 10, images: 10, withService: 10, withoutImages: 0, serviceVersions: [0, 10, 0] },
  // The file holds 170 canvases, whatever its name says.
  'p3-yale-canterbury-tales-171-canvases.json': { canvases: 170, images: 170, withService: 170, withoutImages: 0, serviceVersions: [0, 170, 0] },
  // Presentation 4 is a draft: refused by name rather than half-read.
  'p4-iiif-draft-uc01-artwork.json': { error: 'LOUPE_ERR_IIIF_NOT_IIIF' },
};

interface CollectionExpectation {
  readonly manifests: number;
  /** Error events by code: every remote member is unreachable here. */
  readonly errors: Record<string, number>;
}

const COLLECTIONS: Record<string, CollectionExpectation> = {
  'c2-mirador-collection.json': { manifests: 0, errors: { LOUPE_ERR_FETCH_NETWORK: 55 } },
  // 250 manifests on the page, then its `next` page.
  'c2-paginated-collection-page.json': { manifests: 0, errors: { LOUPE_ERR_FETCH_NETWORK: 251 } },
  // `first` is the page above (a fixture), read from its file.
  'c2-paginated-collection.json': { manifests: 0, errors: { LOUPE_ERR_FETCH_NETWORK: 251 } },
  // 25 embedded collections sharing the parent's @id, 165 distinct manifests; two of them are fixtures
  // (the British Library's and cookbook 0033).
  'c2-universalviewer-sample-collection.json': { manifests: 2, errors: { LOUPE_ERR_FETCH_NETWORK: 163 } },
  'c3-cookbook-0032-collection.json': { manifests: 0, errors: { LOUPE_ERR_FETCH_NETWORK: 2 } },
  'c3-northwestern-collection.json': { manifests: 0, errors: { LOUPE_ERR_FETCH_NETWORK: 11 } },
};

interface InfoExpectation {
  readonly id: string;
  readonly version: 1 | 2 | 3;
  readonly level: 0 | 1 | 2;
  readonly width: number;
  readonly height: number;
  readonly sizes: number;
  /** [width, height, number of scale factors] per tile set. */
  readonly tiles: readonly (readonly [number, number, number])[];
  readonly max?: readonly [number | undefined, number | undefined, number | undefined];
}

const INFOS: Record<string, Outcome<InfoExpectation>> = {
  'v1.1-gallica-btv1b53243704g-f1.json': { id: 'https://gallica.bnf.fr/iiif/ark:/12148/btv1b53243704g/f1', version: 1, level: 2, width: 7900, height: 11060, sizes: 0, tiles: [] },
  'v1.1-l2-osd-scale-factors.json': { id: 'http://localhost:8000/test/data/iiif_1_1_tiled', version: 1, level: 2, width: 775, height: 1024, sizes: 0, tiles: [[256, 256, 6]] },
  'v2-invalid-not-json.json': { error: 'LOUPE_ERR_IIIF_NOT_JSON' },
  'v2-l0-osd-sizes-only.json': { id: 'http://localhost:8000/test/data/iiif_2_0_sizes', version: 2, level: 0, width: 6976, height: 5074, sizes: 5, tiles: [] },
  'v2-l0-rotterdam-tiles-only.json': { id: 'https://rotterdamspubliek.nl/iiif/NL-RtSA_4001_1985-1014-01', version: 2, level: 0, width: 9102, height: 6922, sizes: 0, tiles: [[512, 512, 5]] },
  'v2-l0-sfomuseum-static-tiles.json': { id: 'https://static.sfomuseum.org/media/176/270/383/1/tiles', version: 2, level: 0, width: 1698, height: 1099, sizes: 0, tiles: [[256, 256, 4]] },
  // Relative @id: a file path gives nothing to resolve it against (see the URL case below).
  'v2-l0-zimeon-starfish-relative-id.json': { id: 'starfish', version: 2, level: 0, width: 3000, height: 4000, sizes: 11, tiles: [[1024, 1024, 3]] },
  'v2-l1-nls-tiles.json': { id: 'https://mapview.nls.uk/iiif/10146/101465411', version: 2, level: 1, width: 8932, height: 6493, sizes: 0, tiles: [[256, 256, 7]] },
  'v2-l1-utrecht-iipsrv-querystring-id.json': {
    id: 'https://objects.library.uu.nl/fcgi-bin/iipsrv.fcgi?IIIF=/manifestation/viewer/60/82/67/60826765847502039061478934746532282060.jp2',
    version: 2,
    level: 1,
    width: 4695,
    height: 2997,
    sizes: 5,
    tiles: [[256, 256, 6]],
  },
  // The @id is what the server says, even when it names another image than the one asked for.
  'v2-l2-dighimapper-maxarea-id-mismatch.json': {
    id: 'https://images.dighimapper.eu/iiif/2/510_0713_000_00496_000_0_0001.tif',
    version: 2,
    level: 2,
    width: 4864,
    height: 8918,
    sizes: 3,
    tiles: [[512, 512, 7]],
    max: [undefined, undefined, 262144],
  },
  'v2-l2-gouda-sizes-no-tiles.json': { id: 'https://www.goudatijdmachine.nl/data/iiif/2/51803', version: 2, level: 2, width: 10290, height: 8664, sizes: 3, tiles: [] },
  'v2-l2-loris-sizes-tiles-urlencoded-id.json': { id: 'http://localhost/01%2F02%2F0001.jp2', version: 2, level: 2, width: 5906, height: 7200, sizes: 7, tiles: [[256, 256, 7]] },
  'v2-l2-smithsonian-ids.json': { id: 'https://ids.si.edu/ids/iiif/NASM-NASM2013-00143', version: 2, level: 2, width: 2071, height: 3000, sizes: 0, tiles: [[512, 512, 4]] },
  'v2-l2-spk-berlin-maxwidth-service.json': {
    id: 'https://digital.iai.spk-berlin.de:443/viewer/api/v1/records/630107580/files/images/00000001.tif',
    version: 2,
    level: 2,
    width: 11458,
    height: 17014,
    sizes: 1,
    tiles: [[512, 512, 2]],
    max: [10000, 10000, undefined],
  },
  'v2-l2-wikimedia-iipsrv-maxwidth.json': {
    id: 'http://zoomviewer.toolforge.org/iipsrv.fcgi/?iiif=cache/e8f0e820e00680e69939a97ffccf64e8.tif',
    version: 2,
    level: 2,
    width: 6510,
    height: 7707,
    sizes: 5,
    tiles: [[256, 256, 6]],
    max: [5000, 5000, undefined],
  },
  // `{"width": 600}` in sizes is dropped; the image and the other size stand.
  'v3-invalid-sizes.json': { id: 'https://example.org/image-service/abcd1234/1E34750D-38DB-4825-A38A-B60A345E591C', version: 3, level: 2, width: 6000, height: 4000, sizes: 1, tiles: [] },
  'v3-l1-iiif-reference-gottingen.json': {
    id: 'https://iiif.io/api/image/3.0/example/reference/918ecd18c2592080851777620de9bcb5-gottingen',
    version: 3,
    level: 1,
    width: 4032,
    height: 3024,
    sizes: 0,
    tiles: [[512, 512, 3]],
  },
  'v3-l2-osd-extraformats.json': { id: 'http://localhost:8000/test/data/iiif_3_0_tiled', version: 3, level: 2, width: 775, height: 1024, sizes: 0, tiles: [[256, 256, 4]] },
  'v3-spec-5.2-maxwidth-maxheight-maxarea.json': {
    id: 'https://example.org/image-service/abcd1234/1E34750D-38DB-4825-A38A-B60A345E591C',
    version: 3,
    level: 2,
    width: 6000,
    height: 4000,
    sizes: 0,
    tiles: [],
    max: [3000, 2000, 4000000],
  },
  'v3-spec-5.8-full-example-level1.json': {
    id: 'https://example.org/image-service/abcd1234/1E34750D-38DB-4825-A38A-B60A345E591C',
    version: 3,
    level: 1,
    width: 6000,
    height: 4000,
    sizes: 3,
    tiles: [
      [512, 512, 3],
      [1024, 2048, 2],
    ],
  },
};

type Assert = Pick<typeof t, 'same'>;

/** What every harvested manifest must look like, whatever its source. */
function checkShape(t: Assert, manifest: HarvestedManifest): void {
  const problems: string[] = [];
  manifest.canvases.forEach((canvas, i) => {
    if (canvas.index !== i) problems.push(`canvas ${i} has index ${canvas.index}`);
    if (!canvas.id || !canvas.label) problems.push(`canvas ${i} lacks an id or label`);
    if (!Number.isInteger(canvas.width) || !Number.isInteger(canvas.height) || canvas.width < 0 || canvas.height < 0) problems.push(`canvas ${i} size ${canvas.width}x${canvas.height}`);
    for (const image of canvas.images) {
      if (!image.id) problems.push(`canvas ${i}: image without id`);
      const service = image.service;
      if (service && (/\/$|\/info\.json$/.test(service.id) || ![1, 2, 3].includes(service.version) || ![0, 1, 2, null].includes(service.level))) {
        problems.push(`canvas ${i}: service ${JSON.stringify(service)}`);
      }
      if (image.target && !(image.target.w > 0 && image.target.h > 0)) problems.push(`canvas ${i}: target ${JSON.stringify(image.target)}`);
    }
  });
  t.same(problems, [], `${manifest.id}: canvases and images are well formed`);
}

/** What every plan must satisfy on a real info.json. */
function checkPlan(t: Assert, info: ImageInfo, label: string, target: Parameters<typeof planImageRequest>[1]): void {
  const plan = planImageRequest(info, target);
  const urls = plan.kind === 'single' ? [plan.url ?? ''] : (plan.tiles ?? []).map((tile) => tile.url);
  const problems: string[] = [];
  if (urls.length === 0 || !urls.every((url) => url.startsWith(`${info.id}/`) && /\/0\/(default|native)\.jpg$/.test(url))) problems.push(`urls ${urls.join(' ')}`);
  if (!(Number.isInteger(plan.width) && Number.isInteger(plan.height) && plan.width > 0 && plan.height > 0)) problems.push(`size ${plan.width}x${plan.height}`);
  if (plan.width > plan.region.w || plan.height > plan.region.h || plan.scale < 1) problems.push(`upscaled: ${plan.width}x${plan.height} from ${plan.region.w}x${plan.region.h}`);
  if (plan.region.x + plan.region.w > info.width || plan.region.y + plan.region.h > info.height) problems.push(`region ${JSON.stringify(plan.region)}`);
  for (const tile of plan.tiles ?? []) {
    if (tile.x + tile.width > plan.width || tile.y + tile.height > plan.height) problems.push(`tile ${tile.url} outside the result`);
  }
  const limitW = info.maxWidth ?? Infinity;
  const limitH = info.maxHeight ?? limitW;
  if (plan.kind === 'single' && (plan.width > limitW || plan.height > limitH || plan.width * plan.height > (info.maxArea ?? Infinity))) problems.push('over the limits');
  if (info.level === 0 && plan.kind === 'single' && !/\/(max|full)\/0\//.test(plan.url ?? '')) {
    // Level 0: a listed size, or a tile; nothing computed.
    const size = (plan.url ?? '').split('/').at(-3) ?? '';
    const listed = info.sizes.some((s) => size === `${s.width},` || size === `${s.width},${s.height}`);
    if (!listed && info.tiles.length === 0) problems.push(`level 0 request for an unlisted size ${size}`);
  }
  t.same(problems, [], `${label}: ${plan.reason}`);
}

t.test('every manifest fixture', async (t) => {
  const dir = join(FIXTURES, 'manifests');
  if (!existsSync(dir)) return t.plan(0, `no fixtures at ${dir} (the shared folder sits beside the repository)`);
  const load = fixtureLoader();
  for (const path of filesUnder(dir)) {
    const file = name(path);
    const expected = MANIFESTS[file];
    if (expected === undefined) {
      t.fail(`${relative(FIXTURES, path)}: no expectation in the table; add one`);
      continue;
    }
    const { manifests, errors } = await harvestAll(path, load);
    if ('error' in expected) {
      t.same([manifests.length, errors.map((e) => [e.code, e.document])], [0, [[expected.error, path]]], `${file}: ${expected.error}`);
      continue;
    }
    t.same(errors, [], `${file}: no errors`);
    const manifest = manifests[0];
    if (manifests.length !== 1 || manifest === undefined) {
      t.fail(`${file}: one manifest expected, got ${manifests.length}`);
      continue;
    }
    const images = manifest.canvases.flatMap((c) => c.images);
    const versions = [1, 2, 3].map((v) => images.filter((i) => i.service?.version === v).length);
    t.same(
      {
        canvases: manifest.canvases.length,
        images: images.length,
        withService: images.filter((i) => i.service).length,
        withoutImages: manifest.canvases.filter((c) => c.images.length === 0).length,
        serviceVersions: versions,
      },
      expected,
      file,
    );
    checkShape(t, manifest);
  }
});

t.test('a few fixtures in detail', async (t) => {
  const dir = join(FIXTURES, 'manifests');
  if (!existsSync(dir)) return t.plan(0, `no fixtures at ${dir} (the shared folder sits beside the repository)`);
  const read = async (file: string): Promise<HarvestedManifest> => {
    const path = filesUnder(dir).find((p) => name(p) === file) ?? file;
    const { manifests } = await harvestAll(path, fixtureLoader());
    const manifest = manifests[0];
    if (!manifest) throw new Error(`${file} did not harvest`);
    return manifest;
  };
  const composition = await read('p3-cookbook-0036-composition.json');
  t.same(
    composition.canvases[0]?.images.map((i) => i.target),
    [undefined, { x: 3949, y: 994, w: 1091, h: 1232 }],
    'cookbook 0036: the second image is painted on a region',
  );
  const choice = await read('p3-cookbook-0033-choice.json');
  t.same(
    choice.canvases[0]?.images.map((i) => i.choice),
    ['Natural Light', 'X-Ray'],
  );
  const ldmax = await read('p3-ldmax-rtl.json');
  t.same([ldmax.canvases[0]?.images[0]?.service?.version, ldmax.canvases[0]?.images[0]?.service?.level], [3, null], 'profile "level3" reads as an unknown level');
  const bl = await read('p3-bl-or11828-517-canvases-mixed-imageapi.json');
  t.match(bl.canvases[0]?.images[0]?.service, { version: 3 }, 'ImageService3 chosen over ImageService2');
  const missing = await read('p3-cookbook-0283-missing-image.json');
  t.same(
    missing.canvases.map((c) => c.images.length),
    [1, 0, 1, 1],
    'cookbook 0283: the second canvas (the missing page) has no image',
  );
  const stringService = await read('p2-ecodices-aarau-service-as-string.json');
  t.notOk(JSON.stringify(stringService.v3).includes('"0":"h"'), 'a string service is not spread into characters by the upgrade');
});

t.test('every collection fixture', async (t) => {
  const dir = join(FIXTURES, 'collections');
  if (!existsSync(dir)) return t.plan(0, `no fixtures at ${dir} (the shared folder sits beside the repository)`);
  const load = fixtureLoader();
  for (const path of filesUnder(dir)) {
    const file = name(path);
    const expected = COLLECTIONS[file];
    if (expected === undefined) {
      t.fail(`${relative(FIXTURES, path)}: no expectation in the table; add one`);
      continue;
    }
    const { manifests, errors } = await harvestAll(path, load);
    const codes: Record<string, number> = {};
    for (const error of errors) codes[error.code] = (codes[error.code] ?? 0) + 1;
    t.same({ manifests: manifests.length, errors: codes }, expected, file);
    t.ok(
      errors.every((e) => e.message.includes(e.document)),
      `${file}: every error names its document`,
    );
    for (const manifest of manifests) checkShape(t, manifest);
  }
});

t.test('every info.json fixture', async (t) => {
  const dir = join(FIXTURES, 'info');
  if (!existsSync(dir)) return t.plan(0, `no fixtures at ${dir} (the shared folder sits beside the repository)`);
  for (const path of filesUnder(dir)) {
    const file = name(path);
    const expected = INFOS[file];
    if (expected === undefined) {
      t.fail(`${relative(FIXTURES, path)}: no expectation in the table; add one`);
      continue;
    }
    let info: ImageInfo;
    try {
      info = parseImageInfo(parseJsonDocument(readFileSync(path), path), path);
    } catch (err) {
      t.ok(err instanceof LoupeError, `${file}: a LoupeError`);
      t.same({ error: (err as LoupeError).code }, expected, `${file}: ${(err as Error).message}`);
      continue;
    }
    if ('error' in expected) {
      t.fail(`${file}: expected ${expected.error}, it parsed`);
      continue;
    }
    t.same(
      {
        id: info.id,
        version: info.version,
        level: info.level,
        width: info.width,
        height: info.height,
        sizes: info.sizes.length,
        tiles: info.tiles.map((tile) => [tile.width, tile.height, tile.scaleFactors.length]),
        max: [info.maxWidth, info.maxHeight, info.maxArea],
      },
      { ...expected, max: expected.max ?? [undefined, undefined, undefined] },
      file,
    );
    checkPlan(t, info, `${file} short side 512`, { shortSide: 512 });
    checkPlan(t, info, `${file} fit 1024x1024`, { fit: { width: 1024, height: 1024 } });
    checkPlan(t, info, `${file} short side 100000`, { shortSide: 100_000 });
    checkPlan(t, info, `${file} region`, { shortSide: 224, region: { x: info.width / 4, y: info.height / 4, w: info.width / 3, h: info.height / 3 } });
  }
});

t.test('plans on real info.json fixtures', async (t) => {
  const dir = join(FIXTURES, 'info');
  if (!existsSync(dir)) return t.plan(0, `no fixtures at ${dir} (the shared folder sits beside the repository)`);
  const info = (file: string, document = join(dir, file)): ImageInfo => parseImageInfo(parseJsonDocument(readFileSync(join(dir, file)), document), document);
  // Göttingen, 3.0 level 1, 4032x3024, short side 512: 4032*512/3024 = 682.7 -> 683.
  t.equal(
    planImageRequest(info('v3-l1-iiif-reference-gottingen.json'), { shortSide: 512 }).url,
    'https://iiif.io/api/image/3.0/example/reference/918ecd18c2592080851777620de9bcb5-gottingen/full/683,512/0/default.jpg',
  );
  // SFO Museum static tiles, 2.x level 0, 1698x1099, 256 px tiles s=1..8, short side 224 (height binds):
  // s=8 gives ceil(1099/8) = 138; s=4 gives 275 with 2 x 2 tiles of a 1024 px step: 425x275.
  const sfo = planImageRequest(info('v2-l0-sfomuseum-static-tiles.json'), { shortSide: 224 });
  t.same([sfo.kind, sfo.tiles?.length, sfo.width, sfo.height], ['tiles', 4, 425, 275]);
  t.equal(sfo.tiles?.[3]?.url, 'https://static.sfomuseum.org/media/176/270/383/1/tiles/1024,1024,674,75/169,/0/default.jpg');
  // Loris' identifier stays percent-encoded as the server wrote it.
  t.match(planImageRequest(info('v2-l2-loris-sizes-tiles-urlencoded-id.json'), { shortSide: 900 }).url, /^http:\/\/localhost\/01%2F02%2F0001\.jp2\/full\//);
  // Zimeon's relative "starfish", read from a URL: resolved against the service base.
  t.equal(info('v2-l0-zimeon-starfish-relative-id.json', 'https://static.example.org/demo/starfish/info.json').id, 'https://static.example.org/demo/starfish');
});

t.test('Presentation 2 is read canvas by canvas as @iiif/parser upgrades it', async (t) => {
  const dir = join(FIXTURES, 'manifests', 'v2');
  if (!existsSync(dir)) return t.plan(0, `no fixtures at ${dir} (the shared folder sits beside the repository)`);
  // The upgrade escapes the % of an escaped id again ("%2F" becomes "%252F", a URL the server
  // does not know); Loupe requests the id as published. Apart from that, the two readings agree.
  const unescaped = (id: string): string => id.replace(/%25([0-9a-f]{2})/gi, '%$1');
  for (const path of filesUnder(dir)) {
    const json = parseJsonDocument(readFileSync(path), path);
    if (name(path) === 'p2-not-iiif-json.json') continue;
    const manifest = parseManifest(json, path);
    const services = new Map<string, RawService>();
    recordServices(json, services);
    const context = { rawServices: services, sharedServices: new Map() };
    const upgraded = (manifest.v3.items as Record<string, unknown>[]).map((canvas, index) => {
      const read = readCanvas(canvas, index, manifest.id, context);
      return { ...read, images: read.images.map((image) => ({ ...image, id: unescaped(image.id) })) };
    });
    // Languages come from the manifest, which a canvas read on its own does not see.
    const withoutLanguages = manifest.canvases.map(({ languages: _, ...canvas }) => canvas);
    t.same(withoutLanguages, upgraded, `${name(path)}: ${manifest.canvases.length} canvases`);
  }
});
