import { readdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoupeError, toLoupeError } from '@loupe/contracts';
import { loadBuiltinCardSync, loadCardSync, parseCard, type CardProblem } from '../cards/card.loader.js';
import type { AnyCard } from '../cards/engine-card.js';

/** A card the registry knows, and where it came from. */
export interface CardRecord {
  /** An engine card only among the built-in ones: LOUPE_MODELS_DIR holds model cards. */
  readonly card: AnyCard;
  readonly origin: 'builtin' | 'installed';
  readonly cardPath: string;
}

export interface InvalidCard {
  readonly path: string;
  readonly message: string;
  readonly errors: readonly CardProblem[];
}

/** The cards: those that ship with Loupe and those added to LOUPE_MODELS_DIR (re-read when their file changes). */
export interface CardCatalog {
  records(): CardRecord[];
  record(id: string): CardRecord | undefined;
  /** The record, or LOUPE_ERR_MODEL_NOT_INSTALLED naming the cards that are known. */
  require(id: string): CardRecord;
  invalid(): InvalidCard[];
  /** Validates a card file and installs it as <modelsDir>/<id>/card.json. */
  add(cardPath: string): Promise<CardRecord>;
}

export function openCardCatalog(modelsDir: string, builtinCardsDir: string): CardCatalog {
  // A broken built-in card is a packaging bug: fail at start, loudly.
  const builtin = loadBuiltinCards(builtinCardsDir);
  const installedCache = new Map<string, { mtimeMs: number; size: number; result: CardRecord | InvalidCard }>();

  function scanInstalled(): { records: CardRecord[]; invalid: InvalidCard[] } {
    const records: CardRecord[] = [];
    const invalid: InvalidCard[] = [];
    let names: string[];
    try {
      names = readdirSync(modelsDir).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return { records, invalid };
    }
    for (const name of names) {
      const cardPath = join(modelsDir, name, 'card.json');
      let st: Stats;
      try {
        st = statSync(cardPath);
      } catch {
        continue; // a folder of downloaded files for a built-in card, or not ours
      }
      const hit = installedCache.get(cardPath);
      let result = hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size ? hit.result : undefined;
      if (!result) {
        result = readInstalledCard(cardPath, name, builtin);
        installedCache.set(cardPath, { mtimeMs: st.mtimeMs, size: st.size, result });
      }
      if ('card' in result) records.push(result);
      else invalid.push(result);
    }
    return { records, invalid };
  }

  const records = (): CardRecord[] => [...builtin.values(), ...scanInstalled().records];
  const record = (id: string): CardRecord | undefined => builtin.get(id) ?? scanInstalled().records.find((r) => r.card.id === id);

  return {
    records,
    record,
    require(id) {
      const r = record(id);
      if (r) return r;
      const known = records().map((x) => x.card.id);
      throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `No model card ${JSON.stringify(id)} (built-in cards and ${modelsDir}; known: ${known.join(', ') || 'none'})`, {
        details: { model: id, modelsDir, known },
      });
    },
    invalid: () => scanInstalled().invalid,
    async add(cardPath) {
      const text = await readCardText(cardPath);
      const card = parseCard(parseCardJson(text, cardPath), cardPath);
      if (builtin.has(card.id)) {
        throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${cardPath} has the id of a built-in model (${card.id}); give it an id of its own`, {
          details: { source: cardPath, errors: [{ path: '/id', message: 'is the id of a built-in model' }] },
        });
      }
      const dir = join(modelsDir, card.id);
      await mkdir(dir, { recursive: true });
      // The card as written (not re-serialised): what the operator reviewed is what is kept.
      const tmp = join(dir, `.card.json.${process.pid}.tmp`);
      await writeFile(tmp, text);
      await rename(tmp, join(dir, 'card.json'));
      return { card, origin: 'installed', cardPath: join(dir, 'card.json') };
    },
  };
}

async function readCardText(cardPath: string): Promise<string> {
  try {
    return await readFile(cardPath, 'utf8');
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${cardPath} cannot be read: ${(cause as Error).message}`, {
      cause,
      details: { source: cardPath, errors: [{ path: '', message: 'file cannot be read' }] },
    });
  }
}

function parseCardJson(text: string, cardPath: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${cardPath} is not JSON: ${(cause as Error).message}`, {
      cause,
      details: { source: cardPath, errors: [{ path: '', message: 'not JSON' }] },
    });
  }
}

function readInstalledCard(cardPath: string, folder: string, builtin: ReadonlyMap<string, CardRecord>): CardRecord | InvalidCard {
  try {
    const card = loadCardSync(cardPath);
    if (card.id !== folder) {
      return { path: cardPath, message: `card id ${card.id} does not match its folder ${folder}`, errors: [{ path: '/id', message: `must be ${folder}, the folder's name` }] };
    }
    if (builtin.has(card.id)) {
      return { path: cardPath, message: `${card.id} is a built-in model's id`, errors: [{ path: '/id', message: 'is the id of a built-in model' }] };
    }
    return { card, origin: 'installed', cardPath };
  } catch (err) {
    const e = toLoupeError(err);
    return { path: cardPath, message: e.message, errors: (e.details?.['errors'] as CardProblem[] | undefined) ?? [] };
  }
}

function loadBuiltinCards(dir: string): Map<string, CardRecord> {
  const cards = new Map<string, CardRecord>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `The built-in model cards folder ${dir} cannot be read`, { cause, details: { dir } });
  }
  for (const name of names) {
    const cardPath = join(dir, name);
    const card = loadBuiltinCardSync(cardPath);
    if (`${card.id}.json` !== name) {
      throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Built-in card ${cardPath} has id ${card.id}; the file must be named ${card.id}.json`, {
        details: { source: cardPath, errors: [{ path: '/id', message: `must match the file name ${name}` }] },
      });
    }
    cards.set(card.id, { card, origin: 'builtin', cardPath });
  }
  return cards;
}
