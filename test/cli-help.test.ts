// The command table is the one place each command is defined: README's command list and every
// command's --help are held to it here, so that neither drifts from what the parser accepts.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { main } from '@loupe/cli';
import { COMMANDS, COMPLETION, type CommandSpec } from '../packages/cli/src/command-table.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every command a person types: `run`, `iiif serve`, ..., each group's subcommands rather than the group. */
function leaves(specs: readonly CommandSpec[], prefix: string[] = []): { path: string[]; spec: CommandSpec }[] {
  return specs.flatMap((spec) => (spec.commands ? leaves(spec.commands, [...prefix, spec.name]) : [{ path: [...prefix, spec.name], spec }]));
}
const table = [...leaves(COMMANDS), { path: [COMPLETION.name], spec: COMPLETION }];

/** What `loupe <argv>` prints on standard output, in this process. */
async function stdoutOf(argv: string[]): Promise<{ code: number; text: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await main(argv), text };
  } finally {
    process.stdout.write = write;
  }
}

t.test("README's command list is the command table", async (t) => {
  const readme = await fs.readFile(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  t.ok(block, 'README has a command list under "Using it"');
  const groups = new Map(COMMANDS.map((c) => [c.name, c]));
  const listed = new Set<string>();
  for (const [, first, second] of block.matchAll(/\bloupe ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?/g)) {
    listed.add(groups.get(first!)?.commands ? `${first} ${second}` : first!);
  }
  const defined = new Set(table.map((c) => c.path.join(' ')));
  t.same([...defined].filter((c) => !listed.has(c)), [], 'every command is in README');
  t.same([...listed].filter((c) => !defined.has(c)), [], 'README lists no command that does not exist');
});

t.test("every command's --help lists its positionals, options and examples", async (t) => {
  for (const { path: words, spec } of table) {
    if (spec === COMPLETION) continue;
    const { code, text } = await stdoutOf([...words, '--help']);
    t.equal(code, 0, `loupe ${words.join(' ')} --help`);
    t.match(text, `loupe ${words.join(' ')}`, `${words.join(' ')}: its usage line`);
    for (const p of spec.positionals ?? []) t.match(text, p.name, `${words.join(' ')}: <${p.name}>`);
    for (const [name, option] of Object.entries(spec.options ?? {})) {
      t.match(text, name.length === 1 ? `-${name}` : `--${name}`, `${words.join(' ')}: --${name}`);
      if (option.default !== undefined) t.match(text, `[default: ${JSON.stringify(option.default)}]`, `${words.join(' ')}: --${name}'s default`);
    }
    for (const [example] of spec.examples ?? []) t.match(text.replace(/\s+/g, ' '), example.slice(0, 30), `${words.join(' ')}: example ${example}`);
  }
});

t.test('loupe --help lists every command', async (t) => {
  const { code, text } = await stdoutOf(['--help']);
  t.equal(code, 0);
  for (const spec of [...COMMANDS, COMPLETION]) t.match(text, `loupe ${spec.name}`);
});
