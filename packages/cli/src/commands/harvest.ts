import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LoupeError, toLoupeError } from '@loupe/contracts';
import { parseEuropeanaVocabularyJson, toEuropeanaCsv, type GroundTruthLabel } from '@loupe/datasets';
import { createDocumentLoader, createEgressPolicy, harvest } from '@loupe/iiif';
import { loadConfig, type LoupeConfig } from '../config.js';
import { fetcherFromConfig } from '../fetcher.js';
import { EuropeanaClient, europeanaSettingsFromEnv, itemUri, MAX_ROWS, mediaUrl, parseReusability } from '../europeana.js';
import { annotationStoreFromConfig } from '../stores.js';
import { resolveSource } from '../source-path.js';

export interface HarvestEuropeanaOptions {
  /** Path of the pilot's vocabulary.json ({name: conceptURI}). */
  readonly vocab: string;
  /** Items wanted per concept. */
  readonly perConcept: number;
  /** CSV path; without it the CSV goes to `write`. */
  readonly out?: string;
  /** open (default), restricted, permission; several are ORed. Comma-separated values are split. */
  readonly reusability?: readonly string[];
  /** Requests per second at most (default 2). */
  readonly rate?: number;
  /** Page size (default 100, the API's maximum). */
  readonly rows?: number;
  /** EUROPEANA_API_KEY / LOUPE_EUROPEANA_API_KEY, LOUPE_EUROPEANA_API_URL, LOUPE_EUROPEANA_KEY_IN. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the CSV goes when `out` is absent (default stdout). */
  readonly write?: (text: string) => void;
  /** First retry delay without Retry-After (default 1000 ms; tests shorten it). */
  readonly retryBaseMs?: number;
}

export interface ConceptHarvest {
  readonly category: string;
  readonly concept: string;
  /** Items with a media URL taken for this concept (at most perConcept). */
  readonly items: number;
  readonly pages: number;
  /** Items without edm:isShownBy, left out. */
  readonly skipped: number;
  /** All results the API reports for the query. */
  readonly totalResults: number;
}

export interface HarvestEuropeanaSummary {
  /** CSV rows written: one per item, however many concepts it came under. */
  readonly rows: number;
  /** Items found under more than one concept (one row each, labels joined). */
  readonly multiLabel: number;
  readonly skipped: number;
  readonly requests: number;
  readonly concepts: readonly ConceptHarvest[];
}

/** One CSV row: the item (id = its URI, externalId = its record id) with a label per concept it came under. */
interface Row {
  readonly id: string;
  readonly url: string;
  readonly externalId: string;
  readonly labels: GroundTruthLabel[];
}

/**
 * `loupe harvest europeana`: for each concept of the pilot's vocabulary, up to `perConcept`
 * image items from the Europeana Search API, as the pilot's CSV. An item found under several
 * concepts is one row whose category and skos_concept list them all, space-separated (the
 * pilot's multi-label form). With `out`, the file is rewritten after each concept, so an error
 * halfway keeps what was harvested before it.
 */
export async function harvestEuropeana(opts: HarvestEuropeanaOptions, say: (line: string) => void): Promise<HarvestEuropeanaSummary> {
  if (!Number.isInteger(opts.perConcept) || opts.perConcept < 1) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `--per-concept ${String(opts.perConcept)}: expected a positive integer`);
  }
  if (opts.rows !== undefined && !(Number.isInteger(opts.rows) && opts.rows >= 1 && opts.rows <= MAX_ROWS)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `--rows ${String(opts.rows)}: expected an integer from 1 to ${MAX_ROWS} (the API's page size limit)`);
  }
  const reusability = parseReusability(opts.reusability);
  const rows = Math.min(opts.rows ?? MAX_ROWS, opts.perConcept);
  let text: string;
  try {
    text = await readFile(opts.vocab, 'utf8');
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `--vocab ${opts.vocab}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  const vocabulary = parseEuropeanaVocabularyJson(text, { source: opts.vocab });
  if (vocabulary.concepts.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `${opts.vocab}: no concepts to harvest`);
  const client = new EuropeanaClient({
    ...europeanaSettingsFromEnv(opts.env),
    ...(opts.rate !== undefined && { ratePerSecond: opts.rate }),
    ...(opts.retryBaseMs !== undefined && { retryBaseMs: opts.retryBaseMs }),
    // A command run on a person's own machine: private addresses allowed unless LOUPE_FETCH_PRIVATE=deny.
    fetch: createEgressPolicy(loadConfig(opts.env, { egressDefault: 'allow' }).egress).fetch,
  });

  const byId = new Map<string, Row>();
  const done: ConceptHarvest[] = [];
  const emit = async (): Promise<void> => {
    if (opts.out === undefined) return;
    const csv = toEuropeanaCsv(byId.values());
    // Written beside and renamed: a reader never sees half a file.
    const tmp = path.join(path.dirname(opts.out), `.${path.basename(opts.out)}.${process.pid}.tmp`);
    await writeFile(tmp, csv);
    await rename(tmp, opts.out);
  };

  for (const concept of vocabulary.concepts) {
    const category = concept.notation ?? concept.prefLabel.en ?? Object.values(concept.prefLabel)[0] ?? concept.uri;
    let items = 0;
    let pages = 0;
    let skipped = 0;
    let totalResults = 0;
    try {
      for await (const page of client.conceptPages({ concept: concept.uri, reusability, rows }, () => items < opts.perConcept)) {
        pages += 1;
        totalResults = page.totalResults;
        for (const item of page.items) {
          if (items >= opts.perConcept) break;
          const url = mediaUrl(item);
          if (!url) {
            skipped += 1;
            continue;
          }
          const label = { concept: concept.uri, label: category };
          const row = byId.get(item.id);
          if (row) {
            // The API can repeat an item across pages of one query; a label is listed once.
            if (row.labels.some((l) => l.concept === concept.uri)) continue;
            row.labels.push(label);
          } else {
            byId.set(item.id, { id: itemUri(item.id), url, externalId: item.id, labels: [label] });
          }
          items += 1;
        }
      }
    } catch (err) {
      const e = toLoupeError(err);
      const kept = opts.out !== undefined && done.length > 0 ? `; ${opts.out} holds the ${done.length} concept(s) harvested before` : '';
      throw new LoupeError(e.code, `${category} (${concept.uri}): ${e.message}${kept}`, { cause: err, details: { ...e.details, concept: concept.uri } });
    }
    done.push({ category, concept: concept.uri, items, pages, skipped, totalResults });
    say(
      `${category}: ${items}/${opts.perConcept} items (${pages} page${pages === 1 ? '' : 's'})` +
        (skipped > 0 ? `, ${skipped} without an image URL skipped` : '') +
        (items < opts.perConcept ? `; the API has no more (${totalResults} result${totalResults === 1 ? '' : 's'})` : ''),
    );
    await emit();
  }

  const all = [...byId.values()];
  const multiLabel = all.filter((r) => r.labels.length > 1).length;
  const skipped = done.reduce((n, c) => n + c.skipped, 0);
  if (opts.out === undefined) (opts.write ?? ((t: string) => process.stdout.write(t)))(toEuropeanaCsv(all));
  say(
    `harvested ${all.length} items for ${done.length} concepts (${multiLabel} under more than one), ${skipped} without an image URL skipped, ` +
      `${client.requests} requests${opts.out !== undefined ? `; wrote ${opts.out}` : ''}`,
  );
  return { rows: all.length, multiLabel, skipped, requests: client.requests, concepts: done };
}

export interface HarvestIiifOptions {
  readonly dataset: string;
  readonly description?: string;
}

/**
 * `loupe harvest iiif`: walks a collection (or one manifest) and registers every manifest as a
 * source of the dataset, creating the dataset when it is missing. Manifests that cannot be read
 * are reported and skipped. Returns the exit code: 1 when no manifest could be registered.
 */
export async function harvestIiifToDataset(config: LoupeConfig, source: string, opts: HarvestIiifOptions, say: (line: string) => void): Promise<number> {
  const name = opts.dataset.trim();
  if (!name) throw new LoupeError('LOUPE_ERR_VALIDATION', '--dataset: the name of the dataset to register the manifests in is required');
  // The command's own argument, on the user's machine: any file the user can read.
  const load = createDocumentLoader(fetcherFromConfig(config), { files: 'any' });
  const manifests = new Set<string>();
  let failed = 0;
  for await (const event of harvest(resolveSource(source), load)) {
    if (event.type === 'error') {
      failed += 1;
      say(`skipped ${event.error.document}: ${event.error.code}: ${event.error.message}`);
      continue;
    }
    manifests.add(event.manifest.id);
  }
  if (manifests.size === 0) {
    say(`registered 0 manifests as sources of dataset ${name} (0 already there, ${failed} failed)`);
    return 1;
  }
  const store = await annotationStoreFromConfig(config);
  try {
    await store.createDataset({ name, ...(opts.description !== undefined && { description: opts.description }) });
    const { added } = await store.addDatasetSources(name, [...manifests]);
    say(`registered ${added} manifests as sources of dataset ${name} (${manifests.size - added} already there, ${failed} failed)`);
  } finally {
    await store.close();
  }
  return 0;
}
