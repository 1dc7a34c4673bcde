import path from 'node:path';
import type { ClassifyOptions, CreateJobInput, OcrJobOptions, PipelineName } from '@loupe/contracts';
import { str, type Args, type CommandContext } from './command-table.js';
import { formatCauses, RUN_EXIT, runExitCode } from './run-outcome.js';
import { resolveSource } from './source-path.js';
import { UsageError } from './usage-error.js';

/** `loupe run`: the options the parser let through, checked together, then the checks before harvesting, then the job, then its summary. */
export async function runCommand(args: Args, ctx: CommandContext): Promise<number> {
  const pipeline = str(args, 'pipeline') as PipelineName;
  const classify = await classifyOptions(args);
  if (classify && pipeline !== 'classify') throw new UsageError('--head, --vocabulary, --mode and --k go with --pipeline classify');
  const ocr = await ocrOptions(args);
  if (ocr && pipeline !== 'text' && pipeline !== 'enrich') throw new UsageError('--ocr, --lang and --words go with --pipeline text or enrich');
  const caption = captionOptions(args);
  if (caption && pipeline !== 'caption' && pipeline !== 'enrich') throw new UsageError('--caption-model and --beams go with --pipeline caption or enrich');
  const explain = args['explain'] === true ? { classifications: true } : undefined;
  if (explain && pipeline !== 'classify') throw new UsageError('--explain goes with --pipeline classify');
  const skip = skipOption(args);
  const enhance = enhanceOption(args);
  const source = str(args, 'source')!;
  const outDir = path.resolve(str(args, 'out')!);
  const config = await ctx.config();
  const wanted = { source, pipeline, ...(classify && { classify }), ...(ocr && { ocr }), ...(caption && { caption }), ...(enhance && { enhance }), ...(explain && { explain }), ...(skip && { skip }) };
  if (args['dry-run'] === true) {
    const { planRun, formatRunPlan } = await import('./run-plan.js');
    ctx.stdout(formatRunPlan(await planRun(config, wanted)));
    return 0;
  }
  const [{ outDirProblem, preflight }, { LoupeError }] = await Promise.all([import('./run-preflight.js'), import('@loupe/contracts')]);
  const nothingRan = (err: Error): number => {
    ctx.stderr(`loupe: ${err.message}`);
    ctx.stderr('loupe: nothing was harvested');
    return RUN_EXIT.nothingRan;
  };
  const unwritable = await outDirProblem(outDir);
  if (unwritable) return nothingRan(unwritable);
  // The other checks run inside the run, once it knows it is not refusing the folder.
  let stopped: unknown;
  const beforeHarvest = (): Promise<void> =>
    preflight(config, { ...wanted, source: resolveSource(source), outDir, hint: (line) => ctx.stderr(`loupe: ${line}`) }).catch((err: unknown) => {
      if (err instanceof LoupeError) stopped = err;
      throw err;
    });
  const [{ runPipeline }, { Progress }] = await Promise.all([import('./commands/run.js'), import('./progress.js')]);
  let report: Awaited<ReturnType<typeof runPipeline>>;
  try {
    report = await runPipeline(config, {
      ...wanted,
      outDir,
      progress: new Progress(),
      resume: args['resume'] === true,
      say: (line) => ctx.stderr(`loupe: ${line}`),
      beforeHarvest,
    });
  } catch (err) {
    if (stopped !== undefined && err === stopped) return nothingRan(err as Error);
    throw err;
  }
  const rel = (p: string): string => path.relative(process.cwd(), p);
  ctx.stdout(`${report.state}: ${report.canvases} canvases, ${report.images} images, ${report.annotations} annotations, ${report.failures.length} failures`);
  const ocrFiles = report.outputs.ocr.length > 0 ? `, ${rel(path.join(outDir, 'ocr'))}/ (ALTO and hOCR of ${report.outputs.ocr.length / 2} pages)` : '';
  ctx.stdout(`wrote ${report.outputs.manifests.map(rel).join(', ')}, ${rel(report.outputs.annotations)}/${ocrFiles} and ${rel(path.join(outDir, 'report.json'))}`);
  if (report.causes.length > 0) {
    ctx.stdout(`failed, by cause (every failure is in ${rel(path.join(outDir, 'report.json'))}):`);
    for (const line of formatCauses(report.causes)) ctx.stdout(`  ${line}`);
  }
  return runExitCode(report, args['allow-failures'] === true);
}

/** `--skip a,b`, possibly given several times: the parts of the pipeline to turn off (the API checks the names). */
function skipOption(args: Args): string[] | undefined {
  const v = args['skip'];
  if (v === undefined) return undefined;
  const parts = [v].flat().flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError('--skip takes the parts to turn off, comma-separated (loupe run --dry-run lists them)');
  return [...new Set(parts)];
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

/** `--enhance upscale=2,deblur,model=medium`: the job's enhancement; undefined when not asked for. */
function enhanceOption(args: Args): CreateJobInput['enhance'] {
  const v = args['enhance'];
  if (v === undefined) return undefined;
  const items = [v].flat().flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const out: { deblur?: boolean; upscale?: 2 | 3 | 4 | 8; model?: string } = {};
  for (const item of items) {
    const [key, value] = item.split('=', 2) as [string, string | undefined];
    if (key === 'deblur' && value === undefined) out.deblur = true;
    else if (key === 'upscale' && ['2', '3', '4', '8'].includes(value ?? '')) out.upscale = Number(value) as 2 | 3 | 4 | 8;
    else if (key === 'model' && value) out.model = value;
    else throw new UsageError(`--enhance takes deblur, upscale=2|3|4|8 and model=slim|medium|thick, comma-separated; got ${item}`);
  }
  if (!out.deblur && !out.upscale) throw new UsageError('--enhance needs deblur, upscale=<factor> or both');
  return out;
}

/** A captioning model to write the captions instead of composing them, and its beam width; undefined when none was named. */
function captionOptions(args: Args): CreateJobInput['caption'] {
  const model = str(args, 'caption-model');
  const rawBeams = str(args, 'beams');
  if (model === undefined && rawBeams === undefined) return undefined;
  if (model === undefined) throw new UsageError('--beams goes with --caption-model: the composed caption has no decoder to steer');
  const beams = rawBeams === undefined ? undefined : Number(rawBeams);
  if (beams !== undefined && !(rawBeams!.trim() !== '' && Number.isInteger(beams) && beams >= 1 && beams <= 8)) throw new UsageError(`--beams must be an integer from 1 to 8; got ${JSON.stringify(rawBeams)}`);
  return { model, ...(beams !== undefined && { beams }) };
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
