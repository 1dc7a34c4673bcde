import { parseArgs } from 'node:util';
import path from 'node:path';
import type { ClassifyOptions, OcrJobOptions, PipelineName } from '@loupe/contracts';
import type { GroundTruthOptions } from './commands/ground-truth.js';

const USAGE = `loupe: IIIF-native machine-learning enrichment

Usage:
  loupe run <manifest URL or file> [--out DIR] [--pipeline P] [--ocr ppocr|tesseract [--lang L,L]] [--resume]
                                                 run a pipeline in this process (default DIR: ./loupe-out): text
                                                 (default), objects (objects and faces), embed, enrich (all of them),
                                                 classify (with --head ID [--mode top-k|threshold] [--k N], or
                                                 --vocabulary ID for zero-shot with CLIP); --ocr picks the engine
                                                 that reads text (default ppocr; tesseract reads accents) and --lang
                                                 its language models (eng, fra, deu, frk, ita, lat; default eng);
                                                 --resume continues a run interrupted in DIR without redoing the
                                                 images it had done
  loupe serve [--services a,b] [--insecure-no-auth]
                                                 the gateway and every service, or the ones named (LOUPE_SERVICES);
                                                 port LOUPE_PORT (default 8080); LOUPE_BUS=nats to run them apart;
                                                 off loopback it needs API keys or OIDC, unless --insecure-no-auth
                                                 (only behind a proxy that authenticates; docs/security.md)
  loupe keys create --name NAME --role reader|curator|operator|admin | list [--json] | revoke <id>
                                                 API keys (LOUPE_KEYS_FILE); create prints the key once
  loupe dlq list [--subject S] | retry <seq> | drop <seq>
                                                 dead letters of NATS JetStream (LOUPE_BUS=nats)
  loupe iiif harvest <manifest or collection>    one JSON line per canvas image
  loupe iiif plan <info.json URL or file> (--short-side N | --fit WxH) [--region x,y,w,h]
  loupe models list [--json] | verify [id] | prepare | pull <id> | add <card.json> | import-tfjs <model.json> --card <card.json>
                                                 the model registry: built-in cards and LOUPE_MODELS_DIR (docs/models.md)
  loupe duplicates <collection or manifest> [--near N] [--similar C] [--format json|csv] [--out FILE]
                                                 exact, near and visually similar images among those embedded
  loupe clusters <collection or manifest> [--k K | --k-min A --k-max B] [--format json|csv] [--out FILE]
                                                 k-means clusters with their most central images
  loupe vocab import <file> [--format europeana-json|concept-csv|skos-jsonld] [--id ID] | list | show <id>
                                                 SKOS vocabularies in the ground-truth store
  loupe datasets list | show <name> | create <name> [--source MANIFEST]... [--description TEXT]
  loupe datasets import <name> --format coco|voc|europeana-csv|annotation-page <file>... [--vocab ID]
  loupe datasets export <name> --format F [--split train|validation|test] [--seed S] [--out DIR]
  loupe datasets splits <name> [--seed S] [--folds K] [--out FILE]
                                                 named sets of ground truth: import, export, reproducible splits
  loupe harvest europeana --vocab vocabulary.json --per-concept N [--reusability open,restricted,permission] [--rate R] [--rows N] [--out FILE]
                                                 image items per SKOS concept from the Europeana Search API, as the pilot's CSV
                                                 (stdout without --out); key in EUROPEANA_API_KEY
  loupe harvest iiif <collection or manifest> --dataset NAME [--description TEXT]
                                                 register every manifest as a source of the dataset
  loupe train --dataset <name> [--embedding MODEL] [--head ID] [--folds K] [--kind softmax|sigmoid] [--target-precision P] [--seed S]
                                                 a classification head from the dataset's accepted concepts: cross-validated,
                                                 calibrated, written to LOUPE_MODELS_DIR/heads as a new version
  loupe eval --model <id> --dataset <name> [--iou 0.5] [--threshold T] [--out FILE]
                                                 a model's original output against the accepted ground truth:
                                                 a table on standard output, the JSON report in FILE
  loupe demo [--out DIR]                         a sample collection through a local IIIF server, end to end

Environment: LOUPE_PORT, LOUPE_HOST, LOUPE_PUBLIC_URL, LOUPE_DATA_DIR, LOUPE_MODELS_DIR, LOUPE_SERVICES,
LOUPE_BUS, LOUPE_NATS_URL, LOUPE_EXECUTION_PROVIDER, LOUPE_LOG_LEVEL, LOUPE_FETCH_*, LOUPE_VECTORS, LOUPE_QDRANT_URL,
LOUPE_EMBED_MODEL, LOUPE_STORE, LOUPE_MONGODB_URL, LOUPE_KEYS_FILE, LOUPE_OIDC_*, LOUPE_CORS_ORIGINS, LOUPE_RATE_LIMIT
(see docs/configuration.md and docs/security.md).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      pipeline: { type: 'string', short: 'p' },
      ocr: { type: 'string' },
      lang: { type: 'string' },
      'short-side': { type: 'string' },
      fit: { type: 'string' },
      region: { type: 'string' },
      services: { type: 'string' },
      card: { type: 'string' },
      subject: { type: 'string' },
      json: { type: 'boolean' },
      model: { type: 'string' },
      format: { type: 'string' },
      near: { type: 'string' },
      similar: { type: 'string' },
      k: { type: 'string' },
      'k-min': { type: 'string' },
      'k-max': { type: 'string' },
      central: { type: 'string' },
      seed: { type: 'string' },
      dataset: { type: 'string' },
      split: { type: 'string' },
      folds: { type: 'string' },
      iou: { type: 'string' },
      threshold: { type: 'string' },
      source: { type: 'string', multiple: true },
      description: { type: 'string' },
      vocab: { type: 'string' },
      id: { type: 'string' },
      label: { type: 'string' },
      'per-concept': { type: 'string' },
      reusability: { type: 'string' },
      rate: { type: 'string' },
      rows: { type: 'string' },
      head: { type: 'string' },
      embedding: { type: 'string' },
      kind: { type: 'string' },
      'target-precision': { type: 'string' },
      vocabulary: { type: 'string' },
      mode: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      'insecure-no-auth': { type: 'boolean' },
      resume: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  const env = process.env;
  // Commands that end by themselves log warnings only, unless LOUPE_LOG_LEVEL says otherwise.
  // The commands a person runs on their own machine may reach their own servers (loopback, the
  // institution's network): LOUPE_FETCH_PRIVATE=deny turns that off; `loupe serve` denies by default.
  // Each command's module (and with it the services, onnxruntime, sharp...) loads only when that
  // command runs: `loupe --help` or `loupe iiif plan` must not pay for `loupe serve`.
  const { loadConfig } = await import('./config.js');
  const commandConfig = () => loadConfig(env, { logLevel: (env.LOUPE_LOG_LEVEL as 'warn' | undefined) ?? 'warn', egressDefault: 'allow' });
  switch (command) {
    case 'run': {
      if (!sub) throw usage('loupe run needs a manifest URL or file');
      const config = commandConfig();
      const [{ PIPELINE_NAMES }, { runPipeline }, { Progress }] = await Promise.all([import('@loupe/contracts'), import('./commands/run.js'), import('./progress.js')]);
      const outDir = path.resolve(values.out ?? 'loupe-out');
      const pipeline = values.pipeline ?? 'text';
      if (!(PIPELINE_NAMES as readonly string[]).includes(pipeline)) throw usage(`--pipeline must be one of ${PIPELINE_NAMES.join(', ')}; got ${JSON.stringify(pipeline)}`);
      const classify = await classifyOptions(values);
      if (classify && pipeline !== 'classify') throw usage('--head, --vocabulary, --mode and --k go with --pipeline classify');
      const ocr = await ocrOptions(values);
      if (ocr && pipeline !== 'text' && pipeline !== 'enrich') throw usage('--ocr and --lang go with --pipeline text or enrich');
      const report = await runPipeline(config, {
        source: sub,
        outDir,
        pipeline: pipeline as PipelineName,
        progress: new Progress(),
        resume: values.resume ?? false,
        say: (line) => process.stderr.write(`loupe: ${line}\n`),
        ...(classify && { classify }),
        ...(ocr && { ocr }),
      });
      process.stdout.write(
        `${report.state}: ${report.canvases} canvases, ${report.images} images, ${report.annotations} annotations, ${report.failures.length} failures\n` +
          `wrote ${report.outputs.manifests.map((m) => path.relative(process.cwd(), m)).join(', ')}, ` +
          `${path.relative(process.cwd(), report.outputs.annotations)}/ and ${path.relative(process.cwd(), path.join(outDir, 'report.json'))}\n`,
      );
      for (const f of report.failures) process.stdout.write(`  failed: ${f.canvas ?? '(document)'} at ${f.stage}: ${f.code}: ${f.message}\n`);
      // Finished with some failed canvases is still finished; only a job where nothing could run fails the command.
      return report.state === 'done' ? 0 : 1;
    }
    case 'serve': {
      const { serveCommand } = await import('./commands/serve.js');
      await serveCommand(
        loadConfig(env, {
          ...(values.services !== undefined && { services: values.services.split(',') }),
          ...(values['insecure-no-auth'] && { insecureNoAuth: true }),
        }),
      );
      return -1; // keep running
    }
    case 'keys': {
      const { keysCommand } = await import('./commands/keys.js');
      return keysCommand(
        loadConfig(env, { logLevel: 'warn' }),
        sub,
        arg,
        { name: values.name, role: values.role, json: values.json },
        (l) => process.stdout.write(`${l}\n`),
        (l) => process.stderr.write(`loupe: ${l}\n`),
      );
    }
    case 'dlq': {
      const { dlqCommand } = await import('./commands/dlq.js');
      return dlqCommand(loadConfig(env, { logLevel: 'warn', egressDefault: 'allow' }), sub, arg, { subject: values.subject }, (l) => process.stdout.write(`${l}\n`));
    }
    case 'iiif': {
      const config = loadConfig(env, { logLevel: 'warn', egressDefault: 'allow' });
      const { harvestCommand, parseTarget, planCommand } = await import('./commands/iiif.js');
      if (sub === 'harvest') {
        if (!arg) throw usage('loupe iiif harvest needs a manifest or collection URL or file');
        const errors = await harvestCommand(config, arg, (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`${l}\n`));
        return errors > 0 ? 1 : 0;
      }
      if (sub === 'plan') {
        if (!arg) throw usage('loupe iiif plan needs an info.json URL or file');
        const target = parseTarget({ shortSide: values['short-side'], fit: values.fit, region: values.region });
        await planCommand(config, arg, target, (l) => process.stdout.write(`${l}\n`));
        return 0;
      }
      throw usage(`unknown iiif command ${JSON.stringify(sub ?? '')}: harvest or plan`);
    }
    case 'models': {
      const { modelsCommand } = await import('./commands/models.js');
      return modelsCommand(
        loadConfig(env, { logLevel: 'warn', egressDefault: 'allow' }),
        sub,
        arg,
        { json: values.json, card: values.card },
        (l) => process.stdout.write(`${l}\n`),
        (l) => process.stderr.write(`loupe: ${l}\n`),
      );
    }
    case 'duplicates':
    case 'clusters': {
      const { analysisCommand } = await import('./commands/analysis.js');
      return analysisCommand(
        commandConfig(),
        command,
        sub,
        {
          model: values.model,
          format: values.format,
          out: values.out,
          numbers: { near: values.near, similar: values.similar, k: values.k, 'k-min': values['k-min'], 'k-max': values['k-max'], central: values.central, seed: values.seed },
        },
        (l) => process.stderr.write(`${l}\n`),
      );
    }
    case 'harvest': {
      const { harvestEuropeana, harvestIiifToDataset } = await import('./commands/harvest.js');
      if (sub === 'europeana') {
        if (!values.vocab) throw usage('loupe harvest europeana needs --vocab vocabulary.json');
        if (!values['per-concept']) throw usage('loupe harvest europeana needs --per-concept N');
        const summary = await harvestEuropeana(
          {
            vocab: values.vocab,
            perConcept: Number(values['per-concept']),
            ...(values.out !== undefined && { out: values.out }),
            ...(values.reusability !== undefined && { reusability: [values.reusability] }),
            ...(values.rate !== undefined && { rate: Number(values.rate) }),
            ...(values.rows !== undefined && { rows: Number(values.rows) }),
            env,
          },
          (l) => process.stderr.write(`${l}\n`),
        );
        return summary.rows > 0 ? 0 : 1;
      }
      if (sub === 'iiif') {
        if (!arg) throw usage('loupe harvest iiif needs a collection or manifest URL or file');
        if (!values.dataset) throw usage('loupe harvest iiif needs --dataset NAME');
        return harvestIiifToDataset(
          loadConfig(env, { logLevel: 'warn', egressDefault: 'allow' }),
          arg,
          { dataset: values.dataset, ...(values.description !== undefined && { description: values.description }) },
          (l) => process.stdout.write(`${l}\n`),
        );
      }
      throw usage(`unknown harvest command ${JSON.stringify(sub ?? '')}: europeana or iiif`);
    }
    case 'train': {
      const { trainCommand } = await import('./commands/train.js');
      return trainCommand(
        commandConfig(),
        {
          dataset: values.dataset,
          embedding: values.embedding,
          head: values.head,
          folds: values.folds,
          seed: values.seed,
          kind: values.kind,
          targetPrecision: values['target-precision'],
        },
        (l) => process.stderr.write(`${l}\n`),
      );
    }
    case 'eval':
    case 'vocab':
    case 'datasets': {
      const config = commandConfig();
      const say = (l: string): void => void process.stderr.write(`${l}\n`);
      const opts: GroundTruthOptions = values;
      const { datasetsCommand, evalCommand, vocabCommand } = await import('./commands/ground-truth.js');
      if (command === 'eval') return evalCommand(config, opts, say);
      if (command === 'vocab') return vocabCommand(config, sub, arg, opts, say);
      return datasetsCommand(config, sub, arg, positionals.slice(3), opts, say);
    }
    case 'demo': {
      // The demo brings its own IIIF server and sample pages (@loupe/demo): loaded for it alone.
      const { runDemo } = await import('./demo.js');
      const result = await runDemo({ outDir: path.resolve(values.out ?? path.join('out', 'demo')) });
      return result.ok ? 0 : 1;
    }
    default:
      throw usage(`unknown command ${JSON.stringify(command)}`);
  }
}

/** The text engine and its languages from the command line (checked again by the API), or undefined when none was given. */
async function ocrOptions(values: { ocr?: string; lang?: string }): Promise<OcrJobOptions | undefined> {
  if (values.ocr === undefined && values.lang === undefined) return undefined;
  const { OCR_ENGINES, OCR_LANGUAGES } = await import('@loupe/contracts');
  const engine = values.ocr ?? 'tesseract';
  if (!(OCR_ENGINES as readonly string[]).includes(engine)) throw usage(`--ocr must be one of ${OCR_ENGINES.join(', ')}; got ${JSON.stringify(engine)}`);
  if (values.lang === undefined) return { engine: engine as OcrJobOptions['engine'] };
  if (engine !== 'tesseract') throw usage('--lang goes with --ocr tesseract: PP-OCR reads with one model');
  const languages = values.lang.split(',').map((l) => l.trim());
  const unknown = languages.filter((l) => !(OCR_LANGUAGES as readonly string[]).includes(l));
  if (unknown.length > 0) throw usage(`--lang takes ${OCR_LANGUAGES.join(', ')}; got ${JSON.stringify(unknown.join(','))}`);
  return { engine: 'tesseract', languages: languages as OcrJobOptions['languages'] & string[] };
}

/** The classify pipeline's options from the command line, or undefined when none was given. */
async function classifyOptions(values: { head?: string; vocabulary?: string; mode?: string; k?: string }): Promise<ClassifyOptions | undefined> {
  if (values.head === undefined && values.vocabulary === undefined && values.mode === undefined && values.k === undefined) return undefined;
  const { CLASSIFY_MODES } = await import('@loupe/contracts');
  if (values.mode !== undefined && !(CLASSIFY_MODES as readonly string[]).includes(values.mode)) {
    throw usage(`--mode must be one of ${CLASSIFY_MODES.join(', ')}; got ${JSON.stringify(values.mode)}`);
  }
  const k = values.k === undefined ? undefined : Number(values.k);
  if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= 100)) throw usage(`--k must be an integer from 1 to 100; got ${JSON.stringify(values.k)}`);
  return {
    ...(values.head !== undefined && { head: values.head }),
    ...(values.vocabulary !== undefined && { vocabulary: values.vocabulary }),
    ...(values.mode !== undefined && { mode: values.mode as ClassifyOptions['mode'] & string }),
    ...(k !== undefined && { k }),
  };
}

class UsageError extends Error {}
const usage = (message: string) => new UsageError(message);

export async function reportError(err: unknown): Promise<number> {
  if (err instanceof UsageError) {
    process.stderr.write(`loupe: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  const { toLoupeError } = await import('@loupe/contracts');
  const e = toLoupeError(err);
  process.stderr.write(`loupe: ${e.code}: ${e.message}\n`);
  if (e.code === 'LOUPE_ERR_INTERNAL') process.stderr.write(`${(e.cause as Error | undefined)?.stack ?? ''}\n`);
  return 1;
}
