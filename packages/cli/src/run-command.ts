import path from 'node:path';
import type { ClassifyOptions, OcrJobOptions, PipelineName } from '@loupe/contracts';
import { str, type Args, type CommandContext } from './command-table.js';
import { UsageError } from './usage-error.js';

/** `loupe run`: the options the parser let through, checked together, then the job, then its summary. */
export async function runCommand(args: Args, ctx: CommandContext): Promise<number> {
  const pipeline = str(args, 'pipeline') as PipelineName;
  const classify = await classifyOptions(args);
  if (classify && pipeline !== 'classify') throw new UsageError('--head, --vocabulary, --mode and --k go with --pipeline classify');
  const ocr = await ocrOptions(args);
  if (ocr && pipeline !== 'text' && pipeline !== 'enrich') throw new UsageError('--ocr, --lang and --words go with --pipeline text or enrich');
  const outDir = path.resolve(str(args, 'out')!);
  const config = await ctx.config();
  const [{ runPipeline }, { Progress }] = await Promise.all([import('./commands/run.js'), import('./progress.js')]);
  const report = await runPipeline(config, {
    source: str(args, 'source')!,
    outDir,
    pipeline,
    progress: new Progress(),
    resume: args['resume'] === true,
    say: (line) => ctx.stderr(`loupe: ${line}`),
    ...(classify && { classify }),
    ...(ocr && { ocr }),
  });
  const rel = (p: string): string => path.relative(process.cwd(), p);
  ctx.stdout(`${report.state}: ${report.canvases} canvases, ${report.images} images, ${report.annotations} annotations, ${report.failures.length} failures`);
  ctx.stdout(`wrote ${report.outputs.manifests.map(rel).join(', ')}, ${rel(report.outputs.annotations)}/ and ${rel(path.join(outDir, 'report.json'))}`);
  for (const f of report.failures) ctx.stdout(`  failed: ${f.canvas ?? '(document)'} at ${f.stage}: ${f.code}: ${f.message}`);
  // Finished with some failed canvases is still finished; only a job where nothing could run fails the command.
  return report.state === 'done' ? 0 : 1;
}

/** The text engine, its languages and word annotations, or undefined when none was asked for: Loupe then chooses per canvas. */
async function ocrOptions(args: Args): Promise<OcrJobOptions | undefined> {
  const engine = str(args, 'ocr');
  const lang = str(args, 'lang');
  const words = args['words'] === true;
  if (engine === undefined && lang === undefined && !words) return undefined;
  if (lang === undefined) return { ...(engine !== undefined && { engine: engine as OcrJobOptions['engine'] & string }), ...(words && { words }) };
  if (engine === 'ppocr') throw new UsageError('--lang goes with --ocr tesseract: PP-OCR reads with one model');
  const { OCR_LANGUAGES } = await import('@loupe/contracts');
  const languages = lang.split(',').map((l) => l.trim());
  const unknown = languages.filter((l) => !(OCR_LANGUAGES as readonly string[]).includes(l));
  if (unknown.length > 0) throw new UsageError(`--lang takes ${OCR_LANGUAGES.join(', ')}; got ${JSON.stringify(unknown.join(','))}`);
  return { engine: 'tesseract', languages: languages as OcrJobOptions['languages'] & string[], ...(words && { words }) };
}

/** The classify pipeline's options, or undefined when none was given. */
async function classifyOptions(args: Args): Promise<ClassifyOptions | undefined> {
  const [head, vocabulary, mode, rawK] = ['head', 'vocabulary', 'mode', 'k'].map((n) => str(args, n));
  if (head === undefined && vocabulary === undefined && mode === undefined && rawK === undefined) return undefined;
  const k = rawK === undefined ? undefined : Number(rawK);
  if (k !== undefined && !(rawK!.trim() !== '' && Number.isInteger(k) && k >= 1 && k <= 100)) throw new UsageError(`--k must be an integer from 1 to 100; got ${JSON.stringify(rawK)}`);
  return {
    ...(head !== undefined && { head }),
    ...(vocabulary !== undefined && { vocabulary }),
    ...(mode !== undefined && { mode: mode as ClassifyOptions['mode'] & string }),
    ...(k !== undefined && { k }),
  };
}
