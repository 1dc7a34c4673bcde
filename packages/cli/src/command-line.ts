// The command table turned into a yargs parser: per-command help with defaults, allowed values
// and examples, strict checking of commands and options, "Did you mean" suggestions, and the
// `completion` command. yargs because it does all of that built in (commander has no completion)
// and because its builders run only for the command given, so `loupe --help` stays light.
import yargs, { type Argv, type Options } from 'yargs';
import { COMMANDS, COMPLETION, type AllowedValues, type Args, type CommandContext, type CommandSpec, type ContractList, type OptionSpec } from './command-table.js';
import { UsageError } from './usage-error.js';

export type Lists = Readonly<Record<ContractList, readonly string[]>>;

const EPILOGUE = `Environment: LOUPE_PORT, LOUPE_HOST, LOUPE_PUBLIC_URL, LOUPE_DATA_DIR, LOUPE_MODELS_DIR, LOUPE_SERVICES,
LOUPE_BUS, LOUPE_NATS_URL, LOUPE_EXECUTION_PROVIDER, LOUPE_LOG_LEVEL, LOUPE_FETCH_*, LOUPE_VECTORS, LOUPE_QDRANT_URL,
LOUPE_EMBED_MODEL, LOUPE_STORE, LOUPE_MONGODB_URL, LOUPE_KEYS_FILE, LOUPE_OIDC_*, LOUPE_CORS_ORIGINS, LOUPE_RATE_LIMIT
(docs/configuration.md, docs/security.md). loupe <command> --help shows a command's options.`;

/** Whether a command (or one of its subcommands) shows a list that lives in @loupe/contracts. */
export function usesContractLists(spec: CommandSpec): boolean {
  const named = (v: AllowedValues | undefined): boolean => typeof v === 'string';
  return Object.values(spec.options ?? {}).some((o) => named(o.choices) || named(o.values)) || (spec.commands ?? []).some(usesContractLists);
}

// Numbers have no parser type: with parse-numbers off they stay strings, which the command checks
// and answers with the range it takes (yargs would hand it NaN).
const TYPES: Record<OptionSpec['type'], Options> = {
  string: { type: 'string', requiresArg: true },
  number: { requiresArg: true },
  boolean: { type: 'boolean' },
  list: { type: 'string', array: true, nargs: 1, requiresArg: true },
};

function allowed(values: AllowedValues, lists: Lists | undefined): readonly string[] | undefined {
  return typeof values === 'string' ? lists?.[values] : values;
}

function yargsOption(spec: OptionSpec, lists: Lists | undefined): Options {
  const choices = spec.choices && allowed(spec.choices, lists);
  const values = spec.values && allowed(spec.values, lists);
  return {
    describe: values ? `${spec.describe} (${values.join(', ')})` : spec.describe,
    ...TYPES[spec.type],
    ...(spec.alias !== undefined && { alias: spec.alias }),
    ...(spec.default !== undefined && { default: spec.default }),
    ...(spec.defaultDescription !== undefined && { defaultDescription: spec.defaultDescription }),
    ...(choices && { choices: [...choices] }),
  };
}

/** `pull <id>`, `verify [id]`, `import <name> <files..>`: yargs reads positionals from this. */
const usageOf = (spec: CommandSpec): string =>
  [spec.name, ...(spec.positionals ?? []).map((p) => (p.required === false ? `[${p.name}${p.variadic ? '..' : ''}]` : `<${p.name}${p.variadic ? '..' : ''}>`))].join(' ');

export interface Program {
  /** Parses and runs; the handler's exit code, 0 after help or completion, -1 for a command that keeps running. */
  run(): Promise<number>;
}

/**
 * The parser for `argv`. `lists` are the allowed values kept in @loupe/contracts: needed only by
 * the command given (see usesContractLists), so `loupe --help` does not load the schemas.
 */
export function buildProgram(argv: readonly string[], ctx: CommandContext, lists: Lists | undefined): Program {
  let code = 0;
  // The command whose builder ran last is the one the line was for: its help goes with an error.
  let current: { path: string[]; spec: CommandSpec } | undefined;

  const define = (y: Argv, path: string[], spec: CommandSpec): Argv =>
    y.command(
      usageOf(spec),
      spec.summary,
      (b) => {
        current = { path: [...path, spec.name], spec };
        for (const p of spec.positionals ?? []) b.positional(p.name, { describe: p.describe, type: 'string', ...(p.variadic && { array: true }) });
        for (const [name, option] of Object.entries(spec.options ?? {})) {
          b.option(name, yargsOption(option, lists));
          if (option.required) b.demandOption(name, `loupe ${[...path, spec.name].join(' ')} needs --${name}: ${option.describe}`);
        }
        for (const [example, meaning] of spec.examples ?? []) b.example(example, meaning);
        if (spec.epilogue) b.epilogue(spec.epilogue);
        for (const sub of spec.commands ?? []) define(b, [...path, spec.name], sub);
        if (spec.commands) b.demandCommand(1, `loupe ${[...path, spec.name].join(' ')} needs a command: ${spec.commands.map((c) => c.name).join(', ')}`);
        return b;
      },
      async (args) => {
        if (!spec.run) return;
        code = await spec.run(args as Args, ctx);
      },
    );

  let y = yargs([...argv])
    .scriptName('loupe')
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .usage('loupe: IIIF-native machine-learning enrichment\n\nUsage: loupe <command> [options]')
    .epilogue(EPILOGUE)
    .wrap(process.stdout.isTTY ? Math.min(120, process.stdout.columns) : 120);
  for (const spec of COMMANDS) y = define(y, [], spec);
  y = y
    .option('verbose', { type: 'boolean', global: true, describe: 'show the log on standard error (as LOUPE_LOG_LEVEL=info)' })
    .completion(COMPLETION.name, COMPLETION.summary)
    .demandCommand(1, 'loupe needs a command')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .exitProcess(false)
    .fail((message, err, failed) => {
      // Errors thrown by a handler come through here too: they keep their own exit code.
      if (err && err.name !== 'YError') throw err;
      let help = '';
      failed.showHelp((text) => (help = text));
      throw new UsageError(reword(message ?? err?.message ?? 'cannot read the command line', argv, current), help);
    });
  return {
    async run() {
      await y.parseAsync();
      return code;
    },
  };
}

/** yargs's messages, said as a person needs them: what is missing, which word is unknown. */
function reword(message: string, argv: readonly string[], current: { path: string[]; spec: CommandSpec } | undefined): string {
  const at = current?.spec.commands ? current.path : [];
  const group = ['loupe', ...at].join(' ');
  const word = argv.filter((a) => !a.startsWith('-'))[at.length];
  if (message.startsWith('Did you mean')) return `${group} has no command ${JSON.stringify(word)}. ${message}`;
  if (message.startsWith('Unknown argument') && word !== undefined && (!current || current.spec.commands) && message.endsWith(`: ${word}`)) {
    const names = (current?.spec.commands ?? COMMANDS).map((c) => c.name);
    return `${group} has no command ${JSON.stringify(word)}: ${names.join(', ')}`;
  }
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) {
    const names = unknown[1]!.split(', ').map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
    return `${['loupe', ...(current?.path ?? [])].join(' ')} has no option ${names.join(', ')} (--help lists them)`;
  }
  if (!current || !message.startsWith('Not enough non-option arguments')) return message;
  const missing = (current.spec.positionals ?? []).filter((p) => p.required !== false);
  if (missing.length === 0) return message;
  return `loupe ${current.path.join(' ')} needs ${missing.map((p) => `<${p.name}>: ${p.describe}`).join('; ')}`;
}
