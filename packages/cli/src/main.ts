import { COMMANDS } from './command-table.js';
import type { CommandContext } from './command-table.js';
import { buildProgram, usesContractLists, type Lists } from './command-line.js';
import { UsageError } from './usage-error.js';

/**
 * Runs `loupe <argv>` and returns its exit code (-1: a server that keeps running). Each command's
 * module (and with it the services, onnxruntime, sharp...) loads only when that command runs:
 * `loupe --help` or `loupe iiif plan` must not pay for `loupe serve`.
 */
export async function main(argv: string[]): Promise<number> {
  const env = process.env;
  const verbose = argv.includes('--verbose');
  const ctx: CommandContext = {
    env,
    // Commands that end by themselves log nothing (their progress, summary and errors are not logs),
    // unless --verbose or LOUPE_LOG_LEVEL asks for the log.
    // The commands a person runs on their own machine may reach their own servers (loopback, the
    // institution's network): LOUPE_FETCH_PRIVATE=deny turns that off; `loupe serve` denies by default.
    config: async (overrides = {}) => {
      const { loadConfig } = await import('./config.js');
      const logLevel = (env.LOUPE_LOG_LEVEL as 'info' | undefined) ?? (verbose ? 'info' : 'silent');
      return loadConfig(env, { logLevel, egressDefault: 'allow', ...overrides });
    },
    stdout: (line) => void process.stdout.write(`${line}\n`),
    stderr: (line) => void process.stderr.write(`${line}\n`),
  };
  return buildProgram(argv, ctx, await listsFor(argv)).run();
}

/** The allowed values kept in @loupe/contracts (and its schemas), loaded only when the command given shows some. */
async function listsFor(argv: readonly string[]): Promise<Lists | undefined> {
  const spec = COMMANDS.find((c) => c.name === argv[0]);
  const completing = argv.includes('--get-yargs-completions');
  if (!completing && !(spec && usesContractLists(spec))) return undefined;
  const c = await import('@loupe/contracts');
  return {
    PIPELINE_NAMES: c.PIPELINE_NAMES,
    OCR_ENGINES: c.OCR_ENGINES,
    OCR_LANGUAGES: c.OCR_LANGUAGES,
    CLASSIFY_MODES: c.CLASSIFY_MODES,
    ROLES: c.ROLES,
    DATASET_FORMATS: c.DATASET_FORMATS,
    SPLITS: c.SPLITS,
    VOCABULARY_FORMATS: c.VOCABULARY_FORMATS,
  };
}

export async function reportError(err: unknown): Promise<number> {
  if (err instanceof UsageError) {
    process.stderr.write(`loupe: ${err.message}\n${err.help ? `\n${err.help}\n` : ''}`);
    return 2;
  }
  const { toLoupeError } = await import('@loupe/contracts');
  const e = toLoupeError(err);
  process.stderr.write(`loupe: ${e.code}: ${e.message}\n`);
  if (e.code === 'LOUPE_ERR_INTERNAL') process.stderr.write(`${(e.cause as Error | undefined)?.stack ?? ''}\n`);
  return 1;
}
