/**
 * The Tesseract recognisers a detect service keeps, one per language set, at most `max` of them.
 * A job chooses its languages (any ordered subset of the installed ones), and each recogniser holds
 * a wasm worker of a few hundred MB: without a bound, a caller naming many sets would hold that
 * much per set. The least recently used set is closed when another is needed; the pages it had
 * already accepted finish first.
 */
export interface ClosableRecognizer {
  close(): Promise<void>;
}

export interface RecognizerPool<R extends ClosableRecognizer> {
  get(languages: readonly string[]): R;
  /** The language sets held, least recently used first. */
  keys(): string[];
  close(): Promise<void>;
}

export function recognizerPool<R extends ClosableRecognizer>(create: (languages: readonly string[]) => R, max: number): RecognizerPool<R> {
  // A Map keeps insertion order: re-inserting on use makes its first key the least recently used.
  const held = new Map<string, R>();
  const closing = new Set<Promise<void>>();
  return {
    get(languages) {
      const key = languages.join('+');
      const hit = held.get(key);
      if (hit) {
        held.delete(key);
        held.set(key, hit);
        return hit;
      }
      for (const [oldest, recognizer] of held) {
        if (held.size < max) break;
        held.delete(oldest);
        const done = recognizer.close().finally(() => closing.delete(done));
        closing.add(done);
      }
      const made = create(languages);
      held.set(key, made);
      return made;
    },
    keys: () => [...held.keys()],
    async close() {
      const open = [...held.values()];
      held.clear();
      await Promise.allSettled([...open.map((r) => r.close()), ...closing]);
    },
  };
}
