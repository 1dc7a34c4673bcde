// Serves the demo's sample pages (printed text in four fonts, one page upside down) as one IIIF
// Presentation 3 manifest on loopback, for deploy/test-image.sh to send to the container.
// Prints the manifest's URL, then serves until SIGTERM or SIGINT.
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer, type ImageProfile, type PageFont } from '../packages/demo/src/index.js';

const PAGES: readonly { id: keyof typeof SAMPLE_TEXTS; font: PageFont; profile: ImageProfile; rotate180?: boolean }[] = [
  { id: 'catalogueNote', font: 'sans', profile: { version: 3, level: 2 } },
  { id: 'letter', font: 'serif', profile: { version: 2, level: 1 } },
  { id: 'titlePage', font: 'mono', profile: { version: 3, level: 0 }, rotate180: true },
  { id: 'latin', font: 'serif-italic', profile: { version: 2, level: 0, sizes: false, tiles: true } },
];

const server = await startIiifImageServer();
const canvases = await Promise.all(
  PAGES.map(async (page) => {
    const r = await renderTextPage({ lines: SAMPLE_TEXTS[page.id], font: page.font, sizePt: 20, width: 1100, format: 'jpeg', ...(page.rotate180 && { rotate180: true }) });
    const serviceId = await server.addImage(page.id, r.image, page.profile);
    const image = { serviceId, version: page.profile.version ?? 3, level: page.profile.level ?? 2, width: r.width, height: r.height };
    return { label: page.id, width: r.width, height: r.height, image };
  }),
);
const manifest = `${server.url}/manifests/sample.json`;
server.addDocument('/manifests/sample.json', manifestV3({ id: manifest, label: 'Loupe sample pages', canvases }));
process.stdout.write(`${manifest}\n`);

const stop = (): void => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
