/**
 * A promise chain that runs one task at a time. The embedded collection's writers (upsert,
 * delete, index save) take it: hnswlib's graph must not change while a worker thread is writing
 * it to disk, and a label allocated by one upsert must not be handed out again by another.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
