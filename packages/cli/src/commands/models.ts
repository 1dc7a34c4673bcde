import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LoupeError, toLoupeError } from '@loupe/contracts';
import { createEgressPolicy } from '@loupe/iiif';
import { openRegistry, type PullProgress, type RegistryEntry } from '@loupe/inference';
import { importTfjs } from '@loupe/tfjs-onnx';
import type { LoupeConfig } from '../config.js';

export interface ModelsCommandOptions {
  readonly json?: boolean | undefined;
  /** `import-tfjs`: the card describing the model being imported. */
  readonly card?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * `loupe models list|verify|prepare|pull|add|import-tfjs`: the model registry from the command line. Cards come from
 * Loupe's built-in folder and from LOUPE_MODELS_DIR, where `add` installs a card and `pull`
 * downloads a model's files. Results go to stdout, progress and warnings to stderr.
 */
export async function modelsCommand(
  config: LoupeConfig,
  action: string | undefined,
  arg: string | undefined,
  opts: ModelsCommandOptions,
  write: (line: string) => void,
  warn: (line: string) => void,
  progressOut: NodeJS.WriteStream = process.stderr,
): Promise<number> {
  const registry = openRegistry({ modelsDir: config.modelsDir, fetch: createEgressPolicy(config.egress).fetch });
  switch (action) {
    case 'list': {
      const entries = registry.list();
      if (opts.json) {
        for (const e of entries) write(JSON.stringify(summary(e)));
      } else {
        write(row(['ID', 'TASK', 'STATE', 'ORIGIN', 'LICENCE', 'NAME']));
        for (const e of entries) {
          write(row([e.id, e.card.task, e.state, e.origin, e.card.licence, e.card.name]));
          // An engine reads what its language models read: the list says which are here.
          if (e.kind === 'engine') write(`  ${e.card.engine.runtime} ${e.card.version}, languages: ${e.card.engine.languages.map((l) => `${l.code} (${l.script})`).join(', ')}`);
        }
        write(`models folder: ${registry.modelsDir}`);
      }
      for (const bad of registry.invalidCards()) warn(`skipped invalid card ${bad.path}: ${bad.message}`);
      return 0;
    }
    case 'verify': {
      const results = await registry.verify(arg);
      let failed = false;
      for (const r of results) {
        const pullable = r.files.some((f) => f.source === 'url');
        // Not pulled yet is not a fault when checking everything; a built-in file missing is.
        const bad = r.state === 'corrupt' || (r.state === 'missing' && (arg !== undefined || !pullable));
        failed ||= bad;
        if (opts.json) {
          write(JSON.stringify(r));
          continue;
        }
        const notPulled = r.state === 'missing' && r.files.every((f) => f.state === 'ok' || (f.state === 'missing' && f.source === 'url'));
        if (notPulled) {
          write(`${r.id}: missing (not pulled: loupe models pull ${r.id})`);
          continue;
        }
        write(`${r.id}: ${r.state === 'installed' ? 'ok' : r.state}`);
        for (const f of r.files) if (f.state !== 'ok') write(`  ${f.role}: ${f.state}: ${f.problem ?? f.path}`);
      }
      return failed ? 1 : 0;
    }
    case 'prepare': {
      // The offline pack made ready without a network: chunks joined (ISNet) and TF.js models
      // converted to ONNX (objects, faces, features), each checked against its card's hash.
      let failed = false;
      for (const entry of registry.list()) {
        const derived = entry.files.filter((f) => f.source === 'chunks' || f.source === 'converted');
        // A card may leave its conversion to first use (ESRGAN thick: 116 MB a pack rarely needs).
        if (derived.length === 0 || derived.every((f) => entry.card.files[f.role]?.convert?.prepare === 'first-use')) continue;
        const started = performance.now();
        try {
          const verdict = derived.every((f) => existsSync(f.path)) ? 'checked' : 'prepared';
          await registry.resolve(entry.id);
          write(`${entry.id}: ${verdict} (${derived.map((f) => f.source).join(', ')}, ${Math.round(performance.now() - started)} ms) ${derived.map((f) => f.path).join(' ')}`);
        } catch (err) {
          failed = true;
          warn(`${entry.id}: ${toLoupeError(err).message}`);
        }
      }
      write(`models cache: ${registry.modelsDir}`);
      return failed ? 1 : 0;
    }
    case 'pull': {
      if (!arg) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe models pull needs a model id (loupe models list shows them)');
      const bar = new PullBar(progressOut);
      try {
        const result = await registry.pull(arg, { onProgress: (p) => bar.update(p), signal: opts.signal });
        bar.end();
        for (const f of result.files) write(`${result.id} ${f.role}: ${f.action} ${f.path}`);
      } catch (err) {
        bar.end();
        throw err;
      }
      return 0;
    }
    case 'add': {
      if (!arg) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe models add needs a card file (JSON, see docs/models.md)');
      const entry = await registry.add(path.resolve(arg));
      write(`added ${entry.id} (${entry.card.task}) as ${entry.cardPath}`);
      if (entry.state === 'missing') write(`its files are not here yet: loupe models pull ${entry.id}`);
      return 0;
    }
    case 'import-tfjs': {
      if (!arg || !opts.card) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe models import-tfjs needs a TF.js model.json and --card <card.json>');
      const cardPath = path.resolve(opts.card);
      const id = (JSON.parse(await readFile(cardPath, 'utf8')) as { id?: unknown }).id;
      if (typeof id !== 'string' || id === '') throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `the card ${opts.card} has no id`);
      const imported = await importTfjs(path.resolve(arg), { cardPath, outDir: path.join(config.modelsDir, id) });
      // Checked like any other installed model: the card validates and the file matches its hash.
      await registry.resolve(id);
      write(`imported ${id}: ${imported.modelPath} (${imported.size} bytes, sha256 ${imported.sha256}) and its card ${imported.cardPath}`);
      return 0;
    }
    default:
      throw new LoupeError('LOUPE_ERR_VALIDATION', `unknown models command ${JSON.stringify(action ?? '')}: list, verify [id], prepare, pull <id>, add <card.json> or import-tfjs <model.json> --card <card.json>`);
  }
}

function summary(e: RegistryEntry): Record<string, unknown> {
  return {
    id: e.id,
    kind: e.kind,
    task: e.card.task,
    state: e.state,
    origin: e.origin,
    version: e.card.version,
    name: e.card.name,
    licence: e.card.licence,
    card: e.cardPath,
    files: e.files.map((f) => ({ role: f.role, state: f.state, path: f.path, source: f.source })),
    ...(e.kind === 'engine' && { engine: e.card.engine }),
  };
}

const WIDTHS = [22, 20, 10, 9, 15];
function row(cells: string[]): string {
  return cells.map((c, i) => (i < WIDTHS.length ? c.padEnd(WIDTHS[i]!) : c)).join(' ').trimEnd();
}

/** Download progress: a rewritten line on a terminal, a line per 10 % elsewhere. */
class PullBar {
  private line = '';
  private lastTenth = new Map<string, number>();

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(p: PullProgress): void {
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const pct = p.total ? Math.floor((p.received / p.total) * 100) : undefined;
    const label = `${p.id} ${p.file}: ${mb(p.received)}${p.total ? `/${mb(p.total)}` : ''} MB${pct === undefined ? '' : ` (${pct} %)`}`;
    if (this.out.isTTY) {
      this.out.write(`\r${label.padEnd(this.line.length)}`);
      this.line = label;
      return;
    }
    const tenth = pct === undefined ? Math.floor(p.received / 10e6) : Math.floor(pct / 10);
    if (tenth !== this.lastTenth.get(p.file)) {
      this.lastTenth.set(p.file, tenth);
      this.out.write(`${label}\n`);
    }
  }

  end(): void {
    if (this.out.isTTY && this.line) this.out.write('\n');
    this.line = '';
  }
}
