// Every `loupe` command, once: its positionals, options (with defaults and allowed values) and
// examples. The parser and each command's --help are built from this table (command-line.ts), and
// test/cli-help.test.ts holds README's command list to it. Handlers import their implementation
// when they run: `loupe --help` loads this table and yargs, nothing else.
import path from 'node:path';
import type { LoupeConfig, LoupeConfigOverrides } from './config.js';
import { RUN_EXIT_CODES_TEXT } from './run-outcome.js';

/** Lists of allowed values that live in @loupe/contracts, named here and loaded only for the command that shows them. */
export type ContractList = 'PIPELINE_NAMES' | 'OCR_ENGINES' | 'OCR_LANGUAGES' | 'CLASSIFY_MODES' | 'ROLES' | 'DATASET_FORMATS' | 'SPLITS' | 'VOCABULARY_FORMATS';
export type AllowedValues = readonly string[] | ContractList;

export interface OptionSpec {
  /** `number` is parsed by the command, which names the range it accepts; `list` may be given several times. */
  readonly type: 'string' | 'number' | 'boolean' | 'list';
  readonly describe: string;
  readonly alias?: string;
  readonly default?: string | boolean;
  /** What the default means when it is computed rather than a value (help only). */
  readonly defaultDescription?: string;
  /** Values the parser accepts: anything else fails before the command runs, naming them. */
  readonly choices?: AllowedValues;
  /** Values shown in help that the command itself checks (a comma list, or a check with its own message). */
  readonly values?: AllowedValues;
  readonly required?: boolean;
}

export interface PositionalSpec {
  readonly name: string;
  readonly describe: string;
  /** Default true. */
  readonly required?: boolean;
  /** Takes every remaining argument. */
  readonly variadic?: boolean;
}

export type Args = Readonly<Record<string, unknown>>;

export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  /** Configuration from the environment, as a command that ends by itself wants it unless `overrides` say otherwise. */
  config(overrides?: LoupeConfigOverrides): Promise<LoupeConfig>;
  /** A line of the command's result, on standard output. */
  stdout(line: string): void;
  /** A line for the person, on standard error. */
  stderr(line: string): void;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options?: Readonly<Record<string, OptionSpec>>;
  readonly examples?: readonly (readonly [command: string, meaning: string])[];
  /** A group (`loupe models ...`) has subcommands and no handler of its own. */
  readonly commands?: readonly CommandSpec[];
  /** Printed at the end of the command's help (e.g. what its exit codes mean). */
  readonly epilogue?: string;
  /** The exit code, or -1 for a command that keeps running (a server). */
  readonly run?: (args: Args, ctx: CommandContext) => Promise<number>;
}

/** A string option's value (the last one, when given twice). */
export function str(args: Args, name: string): string | undefined {
  const v = args[name];
  if (Array.isArray(v)) return v.length > 0 ? String(v[v.length - 1]) : undefined;
  return v === undefined ? undefined : String(v);
}

const strs = (args: Args, name: string): string[] | undefined => {
  const v = args[name];
  return v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String);
};

const flag = (args: Args, name: string): boolean | undefined => (args[name] === undefined ? undefined : Boolean(args[name]));

const json: OptionSpec = { type: 'boolean', describe: 'one JSON object per line instead of a table' };
const out = (describe: string): OptionSpec => ({ type: 'string', alias: 'o', describe });
const reportFormat: OptionSpec = { type: 'string', choices: ['json', 'csv'], default: 'json', describe: 'the report as JSON or as CSV' };

const modelsCommand =
  (action: string, positional?: string) =>
  async (args: Args, ctx: CommandContext): Promise<number> => {
    const { modelsCommand: run } = await import('./commands/models.js');
    const arg = positional === undefined ? undefined : str(args, positional);
    return run(await ctx.config(), action, arg, { json: flag(args, 'json'), card: str(args, 'card') }, ctx.stdout, (l) => ctx.stderr(`loupe: ${l}`));
  };

const keysCommand =
  (action: string) =>
  async (args: Args, ctx: CommandContext): Promise<number> => {
    const { keysCommand: run } = await import('./commands/keys.js');
    const config = await ctx.config();
    return run(config, action, str(args, 'id'), { name: str(args, 'name'), role: str(args, 'role'), json: flag(args, 'json') }, ctx.stdout, (l) => ctx.stderr(`loupe: ${l}`));
  };

const dlqCommand =
  (action: string) =>
  async (args: Args, ctx: CommandContext): Promise<number> => {
    const { dlqCommand: run } = await import('./commands/dlq.js');
    return run(await ctx.config(), action, str(args, 'seq'), { subject: str(args, 'subject') }, ctx.stdout);
  };

/** The ground-truth commands take one bag of options; each reads its own. */
function groundTruthOptions(args: Args) {
  const names = ['model', 'dataset', 'format', 'out', 'split', 'seed', 'folds', 'iou', 'threshold', 'description', 'vocab', 'id', 'label'] as const;
  return {
    ...Object.fromEntries(names.map((n) => [n, str(args, n)])),
    source: strs(args, 'source'),
  } as import('./commands/ground-truth.js').GroundTruthOptions;
}

const vocabCommand =
  (action: string) =>
  async (args: Args, ctx: CommandContext): Promise<number> => {
    const { vocabCommand: run } = await import('./commands/ground-truth.js');
    return run(await ctx.config(), action, str(args, 'file') ?? str(args, 'id'), groundTruthOptions(args), ctx.stderr);
  };

const datasetsCommand =
  (action: string) =>
  async (args: Args, ctx: CommandContext): Promise<number> => {
    const { datasetsCommand: run } = await import('./commands/ground-truth.js');
    return run(await ctx.config(), action, str(args, 'name'), strs(args, 'files') ?? [], groundTruthOptions(args), ctx.stderr);
  };

const analysisCommand =
  (kind: 'duplicates' | 'clusters', numbers: readonly string[]) =>
  async (args: Args, ctx: CommandContext): Promise<number> => {
    const { analysisCommand: run } = await import('./commands/analysis.js');
    return run(
      await ctx.config(),
      kind,
      str(args, 'source'),
      { model: str(args, 'model'), format: str(args, 'format'), out: str(args, 'out'), numbers: Object.fromEntries(numbers.map((n) => [n, str(args, n)])) },
      ctx.stderr,
    );
  };

const collection: PositionalSpec = { name: 'source', describe: 'the collection or manifest (URL or file) that was embedded' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    summary: 'run a pipeline over a manifest or collection in this process and write the enriched manifest',
    epilogue: RUN_EXIT_CODES_TEXT,
    positionals: [{ name: 'source', describe: 'a IIIF manifest or collection: URL or file' }],
    options: {
      out: { ...out('the folder to write into'), default: 'loupe-out' },
      pipeline: { type: 'string', alias: 'p', choices: 'PIPELINE_NAMES', default: 'text', describe: 'what to run: text, objects (objects and faces), embed, enrich (all of them, with a caption), classify or caption (a composed caption from what detection found)' },
      ocr: { type: 'string', choices: 'OCR_ENGINES', defaultDescription: 'tesseract', describe: 'the engine that reads text: tesseract (European print, accents, Fraktur) or ppocr (PP-OCRv4, no Latin accents)' },
      lang: { type: 'string', values: 'OCR_LANGUAGES', defaultDescription: "the manifest's languages, else eng", describe: "Tesseract's languages, comma-separated, in the order to try them (implies --ocr tesseract)" },
      words: { type: 'boolean', describe: 'annotate each word too, not only each line (ALTO and hOCR always have the words)' },
      head: { type: 'string', describe: 'pipeline classify: the classification head (loupe train makes one)' },
      vocabulary: { type: 'string', describe: "pipeline classify: zero-shot from this vocabulary's labels (needs CLIP: loupe models pull clip-vit-b32)" },
      mode: { type: 'string', choices: 'CLASSIFY_MODES', defaultDescription: 'top-k', describe: 'pipeline classify: the k best concepts, or every concept above its threshold' },
      k: { type: 'number', defaultDescription: '1', describe: 'pipeline classify, mode top-k: concepts per canvas (1 to 100)' },
      explain: { type: 'boolean', describe: "pipeline classify: a saliency map of each canvas's top concept, kept beside it (about 50 passes of the embedder a canvas; docs/explanations.md)" },
      'caption-model': { type: 'string', describe: 'pipelines caption and enrich: a captioning model writes the caption instead of composing it (loupe models pull vit-gpt2-captioning)' },
      beams: { type: 'number', defaultDescription: '1 (greedy)', describe: 'with --caption-model: the beam search width (1 to 8)' },
      enhance: { type: 'list', describe: 'deblur and/or upscale each image before the models see it: deblur, upscale=2|3|4|8, model=slim|medium|thick (docs/enhance.md)' },
      resume: { type: 'boolean', describe: 'continue the run interrupted in --out without redoing the images it had done' },
      skip: { type: 'list', describe: 'parts of the pipeline to turn off, comma-separated (--dry-run lists the parts and what each costs)' },
      'dry-run': { type: 'boolean', describe: 'say what the run would fetch and run, and how long it would take, without running it' },
      'allow-failures': { type: 'boolean', describe: 'exit 0 when some (not all) canvases failed, as a script that checks report.json wants' },
    },
    examples: [
      ['loupe run https://example.org/iiif/book/manifest.json', 'read the text of every page into ./loupe-out'],
      ['loupe run ./manifest.json --pipeline enrich --dry-run', 'the canvases, requests, stages and models, and an estimate of the time'],
      ['loupe run ./manifest.json --pipeline enrich --skip faces,embed', 'objects and text, without faces and embeddings'],
      ['loupe run ./manifest.json --pipeline enrich --out out/book', 'objects, faces, text and embeddings'],
      ['loupe run ./manifest.json --ocr tesseract --lang fra,lat --words', 'French and Latin print, a word annotation per word'],
      ['loupe run ./manifest.json --pipeline classify --head coin-sides', 'classify every canvas with a trained head'],
      ['loupe run ./manifest.json --pipeline caption --caption-model vit-gpt2-captioning --beams 3', 'a caption per canvas written by ViT-GPT2, beam search over 3'],
    ],
    run: async (args, ctx) => (await import('./run-command.js')).runCommand(args, ctx),
  },
  {
    name: 'serve',
    summary: 'the HTTP API, the review page and every service (or those named) in this process',
    options: {
      services: { type: 'string', defaultDescription: 'LOUPE_SERVICES, else all', describe: 'the services to run, comma-separated (with LOUPE_BUS=nats the others run elsewhere)' },
      'insecure-no-auth': { type: 'boolean', describe: 'serve off loopback without API keys or OIDC: only behind a proxy that authenticates (docs/security.md)' },
    },
    examples: [
      ['loupe serve', 'the API on http://127.0.0.1:8080 (LOUPE_PORT, LOUPE_HOST), OpenAPI at /docs, review page at /review'],
      ['LOUPE_BUS=nats loupe serve --services detect,preprocess', 'two services in their own process over NATS JetStream'],
    ],
    run: async (args, ctx) => {
      const { serveCommand } = await import('./commands/serve.js');
      const services = str(args, 'services');
      // Not ctx.config(): a server logs at info and refuses private addresses unless told.
      const { loadConfig } = await import('./config.js');
      await serveCommand(loadConfig(ctx.env, { ...(services !== undefined && { services: services.split(',') }), ...(flag(args, 'insecure-no-auth') && { insecureNoAuth: true }) }));
      return -1;
    },
  },
  {
    name: 'iiif',
    summary: 'IIIF tools: list the images of a collection, plan an Image API request, serve a folder of images',
    commands: [
      {
        name: 'harvest',
        summary: 'one JSON line per canvas image of a manifest or collection',
        positionals: [{ name: 'source', describe: 'a IIIF manifest or collection: URL or file' }],
        examples: [['loupe iiif harvest https://example.org/iiif/collection.json', 'every image, its service, level and size']],
        run: async (args, ctx) => {
          const { harvestCommand } = await import('./commands/iiif.js');
          const errors = await harvestCommand(await ctx.config(), str(args, 'source')!, ctx.stdout, ctx.stderr);
          return errors > 0 ? 1 : 0;
        },
      },
      {
        name: 'plan',
        summary: 'the Image API request Loupe would make for a size, and the scale back to the image',
        positionals: [{ name: 'info', describe: 'an info.json: URL or file' }],
        options: {
          'short-side': { type: 'number', describe: 'the shorter side of the result, in pixels (or --fit)' },
          fit: { type: 'string', describe: 'fit the result inside WxH pixels, e.g. 1024x768 (or --short-side)' },
          region: { type: 'string', describe: 'x,y,w,h: only this region of the image, in image pixels' },
        },
        examples: [['loupe iiif plan https://example.org/iiif/img1/info.json --short-side 960', 'the request for a 960 px short side']],
        run: async (args, ctx) => {
          const { parseTarget, planCommand } = await import('./commands/iiif.js');
          const target = parseTarget({ shortSide: str(args, 'short-side'), fit: str(args, 'fit'), region: str(args, 'region') });
          await planCommand(await ctx.config(), str(args, 'info')!, target, ctx.stdout);
          return 0;
        },
      },
      {
        name: 'serve',
        summary: 'serve a folder of images (jpg, png, tif, webp) as IIIF Image API 3 services and a manifest, until Ctrl-C',
        positionals: [{ name: 'folder', describe: 'the folder holding the images' }],
        options: {
          port: { type: 'number', default: '8182', describe: 'the port to listen on (0: any free port)' },
          host: { type: 'string', default: '127.0.0.1', describe: 'the address to listen on; any other than loopback shows the files to the network' },
        },
        examples: [
          ['loupe iiif serve ./scans', 'prints http://127.0.0.1:8182/manifest.json'],
          ['loupe run http://127.0.0.1:8182/manifest.json', 'then, in another terminal: annotate them'],
        ],
        run: async (args, ctx) => (await import('./iiif-serve-command.js')).iiifServeCommand(args, ctx),
      },
    ],
  },
  {
    name: 'models',
    summary: 'the model registry: built-in cards and LOUPE_MODELS_DIR (docs/models.md)',
    commands: [
      { name: 'list', summary: 'every model card, installed or not', options: { json }, run: modelsCommand('list') },
      {
        name: 'verify',
        summary: "check the models' files against their cards",
        positionals: [{ name: 'id', describe: 'one model (default: all)', required: false }],
        options: { json },
        run: modelsCommand('verify', 'id'),
      },
      { name: 'prepare', summary: 'convert the models that ship in npm packages (run by pnpm install; no network)', run: modelsCommand('prepare') },
      { name: 'pull', summary: "download a model's files", positionals: [{ name: 'id', describe: 'a model id (loupe models list shows them)' }], run: modelsCommand('pull', 'id') },
      { name: 'add', summary: 'install a model card', positionals: [{ name: 'card', describe: 'the card, a JSON file (docs/models.md)' }], run: modelsCommand('add', 'card') },
      {
        name: 'import-tfjs',
        summary: 'convert a TF.js graph model to ONNX and install it with its card',
        positionals: [{ name: 'model', describe: "the TF.js model's model.json" }],
        options: { card: { type: 'string', describe: 'the card describing the model (needed)' } },
        run: modelsCommand('import-tfjs', 'model'),
      },
    ],
  },
  {
    name: 'keys',
    summary: 'API keys in LOUPE_KEYS_FILE; a running server sees changes within a second',
    commands: [
      {
        name: 'create',
        summary: 'create a key and print it, once',
        options: { name: { type: 'string', describe: 'who or what holds the key (needed)' }, role: { type: 'string', values: 'ROLES', describe: 'what the key may do (needed)' } },
        examples: [['loupe keys create --name "Ada Lovelace" --role curator', 'a key for a curator']],
        run: keysCommand('create'),
      },
      { name: 'list', summary: 'every key (never the key itself)', options: { json }, run: keysCommand('list') },
      { name: 'revoke', summary: 'revoke a key', positionals: [{ name: 'id', describe: 'the id of a key (loupe keys list shows them)' }], run: keysCommand('revoke') },
    ],
  },
  {
    name: 'dlq',
    summary: 'the dead letters of NATS JetStream (LOUPE_BUS=nats)',
    commands: [
      { name: 'list', summary: 'one JSON line per dead letter', options: { subject: { type: 'string', describe: 'only those of this subject' } }, run: dlqCommand('list') },
      { name: 'retry', summary: 'put a dead letter back on its queue', positionals: [{ name: 'seq', describe: 'its sequence number (loupe dlq list)' }], run: dlqCommand('retry') },
      { name: 'drop', summary: 'delete a dead letter', positionals: [{ name: 'seq', describe: 'its sequence number (loupe dlq list)' }], run: dlqCommand('drop') },
    ],
  },
  {
    name: 'duplicates',
    summary: 'exact, near and visually similar images among those embedded (loupe run --pipeline embed)',
    positionals: [collection],
    options: {
      near: { type: 'number', describe: 'the largest perceptual-hash distance of a near duplicate (bits)' },
      similar: { type: 'number', describe: 'the smallest cosine similarity of a visually similar pair' },
      k: { type: 'number', describe: 'neighbours looked at per image' },
      model: { type: 'string', defaultDescription: 'LOUPE_EMBED_MODEL', describe: 'the embedding model' },
      format: reportFormat,
      out: out('write the report to this file (default: standard output)'),
    },
    examples: [['loupe duplicates https://example.org/iiif/collection.json --format csv --out dups.csv', 'the duplicate groups as CSV']],
    run: analysisCommand('duplicates', ['near', 'similar', 'k']),
  },
  {
    name: 'clusters',
    summary: 'k-means clusters of the images embedded, with their most central images',
    positionals: [collection],
    options: {
      k: { type: 'number', describe: 'clusters to make (default: the best silhouette between --k-min and --k-max)' },
      'k-min': { type: 'number', describe: 'the fewest clusters tried' },
      'k-max': { type: 'number', describe: 'the most clusters tried' },
      central: { type: 'number', describe: 'central images listed per cluster' },
      seed: { type: 'number', describe: 'the seed of the k-means start (same seed, same clusters)' },
      model: { type: 'string', defaultDescription: 'LOUPE_EMBED_MODEL', describe: 'the embedding model' },
      format: reportFormat,
      out: out('write the report to this file (default: standard output)'),
    },
    examples: [['loupe clusters https://example.org/iiif/collection.json --k 8 --out clusters.json', 'eight clusters']],
    run: analysisCommand('clusters', ['k', 'k-min', 'k-max', 'central', 'seed']),
  },
  {
    name: 'vocab',
    summary: 'SKOS vocabularies in the ground-truth store',
    commands: [
      {
        name: 'import',
        summary: 'import a vocabulary',
        positionals: [{ name: 'file', describe: "vocabulary.json (the Europeana pilot's), a concept CSV or SKOS JSON-LD" }],
        options: {
          format: { type: 'string', values: 'VOCABULARY_FORMATS', defaultDescription: 'guessed from the file', describe: "the file's format" },
          id: { type: 'string', describe: "the vocabulary's id (default: from the file)" },
          label: { type: 'string', describe: "the vocabulary's label" },
        },
        run: vocabCommand('import'),
      },
      { name: 'list', summary: 'every vocabulary and its number of concepts', run: vocabCommand('list') },
      { name: 'show', summary: 'a vocabulary with its concepts, as JSON', positionals: [{ name: 'id', describe: 'the vocabulary id' }], run: vocabCommand('show') },
    ],
  },
  {
    name: 'datasets',
    summary: 'named sets of ground truth: import, export, reproducible splits',
    commands: [
      { name: 'list', summary: 'every dataset with its members and sources', run: datasetsCommand('list') },
      { name: 'show', summary: 'a dataset, as JSON', positionals: [{ name: 'name', describe: 'the dataset' }], run: datasetsCommand('show') },
      {
        name: 'create',
        summary: 'create a dataset',
        positionals: [{ name: 'name', describe: 'the dataset' }],
        options: { source: { type: 'list', describe: 'a manifest whose reviewed annotations belong to it (repeatable)' }, description: { type: 'string', describe: 'what the dataset is' } },
        examples: [['loupe datasets create coins --source https://example.org/iiif/coins/manifest.json', 'a dataset over one manifest']],
        run: datasetsCommand('create'),
      },
      {
        name: 'import',
        summary: 'import labelled images',
        positionals: [
          { name: 'name', describe: 'the dataset' },
          { name: 'files', describe: 'the file(s) to import (voc: one XML file per image)', variadic: true },
        ],
        options: {
          format: { type: 'string', values: 'DATASET_FORMATS', describe: "the files' format (needed)" },
          vocab: { type: 'string', describe: 'the vocabulary the labels belong to' },
          source: { type: 'list', describe: 'the manifest the images belong to' },
        },
        examples: [['loupe datasets import coins --format coco instances.json', 'COCO instances']],
        run: datasetsCommand('import'),
      },
      {
        name: 'export',
        summary: "export a dataset's accepted ground truth",
        positionals: [{ name: 'name', describe: 'the dataset' }],
        options: {
          format: { type: 'string', values: 'DATASET_FORMATS', describe: 'the format to write (needed)' },
          split: { type: 'string', values: 'SPLITS', describe: 'only this split' },
          seed: { type: 'string', describe: 'the seed of the split (same seed, same split)' },
          out: out('the folder to write into (default: .)'),
        },
        examples: [['loupe datasets export coins --format voc --split train --out export/', 'the training split as Pascal VOC']],
        run: datasetsCommand('export'),
      },
      {
        name: 'splits',
        summary: "a dataset's reproducible train/validation/test split and folds, as JSON",
        positionals: [{ name: 'name', describe: 'the dataset' }],
        options: {
          seed: { type: 'string', describe: 'the seed of the split' },
          folds: { type: 'number', describe: 'cross-validation folds' },
          out: out('write the JSON to this file (default: standard output)'),
        },
        run: datasetsCommand('splits'),
      },
      {
        name: 'watermarks',
        summary: 'a labelled folder of clean and watermarked views of your pictures, for loupe train --images',
        options: {
          from: { type: 'string', required: true, describe: 'a folder of pictures' },
          out: { ...out('the folder to write the views, their ink masks, labels.csv and marks.json into'), required: true },
          views: { type: 'number', defaultDescription: '4', describe: 'views (crops) per picture, each written clean and watermarked (1 to 50)' },
          seed: { type: 'string', describe: 'the seed of crops and marks (same seed, same set)' },
        },
        examples: [['loupe datasets watermarks --from ~/Pictures/scans --out wm/', 'then: loupe train --images wm/ --head watermark']],
        run: async (args, ctx) => {
          const { watermarkSetCommand } = await import('./commands/watermarks.js');
          return watermarkSetCommand({ from: str(args, 'from'), out: str(args, 'out'), views: str(args, 'views'), seed: str(args, 'seed') }, ctx.stderr);
        },
      },
    ],
  },
  {
    name: 'harvest',
    summary: 'gather training material: Europeana items per concept, or the manifests of a IIIF collection',
    commands: [
      {
        name: 'europeana',
        summary: "image items per SKOS concept from the Europeana Search API, as the pilot's CSV (key in EUROPEANA_API_KEY)",
        options: {
          vocab: { type: 'string', required: true, describe: "the pilot's vocabulary.json" },
          'per-concept': { type: 'number', required: true, describe: 'items wanted per concept' },
          reusability: { type: 'string', defaultDescription: 'open', describe: 'open, restricted, permission; comma-separated' },
          rate: { type: 'number', defaultDescription: '2', describe: 'requests per second at most' },
          rows: { type: 'number', defaultDescription: '100', describe: 'page size (the API allows 100 at most)' },
          out: out('the CSV file (default: standard output)'),
        },
        examples: [['EUROPEANA_API_KEY=... loupe harvest europeana --vocab vocabulary.json --per-concept 100 --out pilot.csv', "the pilot's harvest"]],
        run: async (args, ctx) => {
          const { harvestEuropeana } = await import('./commands/harvest.js');
          const rate = str(args, 'rate');
          const rows = str(args, 'rows');
          const reusability = str(args, 'reusability');
          const summary = await harvestEuropeana(
            {
              vocab: str(args, 'vocab')!,
              perConcept: Number(str(args, 'per-concept')),
              ...(str(args, 'out') !== undefined && { out: str(args, 'out')! }),
              ...(reusability !== undefined && { reusability: [reusability] }),
              ...(rate !== undefined && { rate: Number(rate) }),
              ...(rows !== undefined && { rows: Number(rows) }),
              env: ctx.env,
            },
            ctx.stderr,
          );
          return summary.rows > 0 ? 0 : 1;
        },
      },
      {
        name: 'iiif',
        summary: 'register every manifest of a collection as a source of a dataset (created when missing)',
        positionals: [{ name: 'source', describe: 'a IIIF collection or manifest: URL or file' }],
        options: { dataset: { type: 'string', required: true, describe: 'the dataset' }, description: { type: 'string', describe: 'what the dataset is, when it is created' } },
        run: async (args, ctx) => {
          const { harvestIiifToDataset } = await import('./commands/harvest.js');
          const description = str(args, 'description');
          return harvestIiifToDataset(await ctx.config(), str(args, 'source')!, { dataset: str(args, 'dataset')!, ...(description !== undefined && { description }) }, ctx.stdout);
        },
      },
    ],
  },
  {
    name: 'train',
    summary: "fit a classification head on a dataset's accepted concepts: cross-validated, calibrated, saved as a new version",
    options: {
      dataset: { type: 'string', describe: 'the dataset (or --images)' },
      images: { type: 'string', describe: 'instead of a dataset: a folder of pictures with a labels.csv (file, concept[, label, group])' },
      embedding: { type: 'string', defaultDescription: 'LOUPE_EMBED_MODEL', describe: 'the embedding model the head reads' },
      head: { type: 'string', defaultDescription: '<dataset>-<embedding>', describe: "the head's id" },
      folds: { type: 'number', defaultDescription: '5', describe: 'cross-validation folds (2 to 50)' },
      kind: { type: 'string', choices: ['softmax', 'sigmoid'], defaultDescription: 'from the data', describe: 'softmax: one concept per image; sigmoid: several' },
      'target-precision': { type: 'number', describe: "each concept's threshold is set for this precision (0.01 to 1)" },
      seed: { type: 'string', describe: 'the seed of folds and fitting (same seed, same head)' },
      tiles: { type: 'number', describe: "with --images: a head over tiles of each picture fitted to this many pixels (labels.csv's mask column labels them)" },
    },
    examples: [
      ['loupe train --dataset coins --head coin-sides', 'then: loupe run ./manifest.json --pipeline classify --head coin-sides'],
      ['loupe train --images wm/ --head watermark', 'from a labelled folder (loupe datasets watermarks makes one)'],
    ],
    run: async (args, ctx) => {
      const { trainCommand } = await import('./commands/train.js');
      const opts = { dataset: str(args, 'dataset'), images: str(args, 'images'), embedding: str(args, 'embedding'), head: str(args, 'head'), folds: str(args, 'folds'), seed: str(args, 'seed'), kind: str(args, 'kind'), targetPrecision: str(args, 'target-precision'), tiles: str(args, 'tiles') };
      return trainCommand(await ctx.config(), opts, ctx.stderr);
    },
  },
  {
    name: 'eval',
    summary: "a model's original output against the accepted ground truth: a table here, the JSON report in a file",
    options: {
      model: { type: 'string', required: true, describe: 'the model id' },
      dataset: { type: 'string', required: true, describe: 'the dataset' },
      iou: { type: 'number', defaultDescription: '0.5', describe: 'boxes: the overlap that makes a match' },
      threshold: { type: 'number', describe: 'labels: the confidence from which a label counts' },
      out: out('the JSON report (default: loupe-eval-<dataset>-<model>.json)'),
    },
    examples: [['loupe eval --model centernet-coco --dataset coins', 'precision, recall, F1, confusion, AP, CER/WER']],
    run: async (args, ctx) => {
      const { evalCommand } = await import('./commands/ground-truth.js');
      return evalCommand(await ctx.config(), groundTruthOptions(args), ctx.stderr);
    },
  },
  {
    name: 'explain',
    summary: 'why a classification or a detection box was given: its occlusion saliency overlay (PNG) or map (JSON), kept as an annotation',
    positionals: [{ name: 'key', describe: 'the annotation: the last path segment of its id' }],
    options: {
      out: out('the file to write (default: standard output)'),
      json: { type: 'boolean', describe: 'the map and the explanation annotation as JSON instead of the PNG' },
      window: { type: 'number', defaultDescription: '0.25', describe: "side of the hidden square, a fraction of the image's shorter side" },
      stride: { type: 'number', defaultDescription: '0.5', describe: 'step between windows, a fraction of the window' },
      baseline: { type: 'string', choices: ['blur', 'mean'], defaultDescription: 'blur', describe: 'what hidden parts become' },
    },
    examples: [['loupe explain 3f2aQm9x -o why.png', 'the overlay of that annotation (computed once, then read from the store)']],
    run: async (args, ctx) => {
      const { explainCommand } = await import('./commands/explain.js');
      const opts = { out: str(args, 'out'), json: flag(args, 'json'), window: str(args, 'window'), stride: str(args, 'stride'), baseline: str(args, 'baseline') };
      const write = (bytes: Uint8Array) => new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
      return explainCommand(await ctx.config(), str(args, 'key')!, opts, write, ctx.stderr);
    },
  },
  {
    name: 'demo',
    summary: 'a sample collection through a local IIIF server, end to end, with its character error rate',
    options: { out: { ...out('the folder to write into'), default: path.join('out', 'demo') } },
    run: async (args, ctx) => {
      // The demo brings its own IIIF server and sample pages (@loupe/demo): loaded for it alone.
      const { runDemo } = await import('./demo.js');
      const result = await runDemo({ outDir: path.resolve(str(args, 'out')!), log: ctx.stdout });
      return result.ok ? 0 : 1;
    },
  },
];

/** `loupe completion`, which yargs answers itself: in the table so that README and help tests see it. */
export const COMPLETION: CommandSpec = { name: 'completion', summary: 'print a bash or zsh completion script (loupe completion >> ~/.bashrc, or ~/.zshrc)' };
