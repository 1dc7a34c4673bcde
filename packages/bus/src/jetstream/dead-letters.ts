import { LoupeError, type LoupeErrorJSON } from '@loupe/contracts';
import { headers as natsHeaders, type JsMsg, type MsgRequest, type StoredMsg } from 'nats';
import type { DeadLetter } from '../bus.js';
import { NO_ERROR_REPORTED, noDeadLetter } from '../bus.errors.js';
import type { JetStreamConnection } from './connection.js';
import { API, apiCode, checkWorkSubject, DLQ, ORIGINAL_ID_HEADER, toNatsHeaders, userHeaders, wrapNatsError } from './names.js';
import type { JetStreamStreams } from './streams.js';

/** The publisher's msgId of a delivered message, also after a retry from the dead letters. */
export function idOf(m: JsMsg): string {
  return m.headers?.get(ORIGINAL_ID_HEADER) || m.headers?.get('Nats-Msg-Id') || `${m.info.stream}:${m.seq}`;
}

/**
 * The dead-letter stream: original data and headers plus `Loupe-Dlq-*` headers (subject, stage,
 * msgId, deliveries, error as LoupeErrorJSON, time). The client writes them, never a janitor.
 */
export class JetStreamDeadLetters {
  constructor(
    private readonly conn: JetStreamConnection,
    private readonly streams: JetStreamStreams,
    private readonly onError: (err: unknown, where: string) => void,
  ) {}

  /**
   * Publishes the dead letter, waits for its PubAck, then removes the original. Its msgId is the
   * original's stream sequence and timestamp, so that a process killed between the two steps only
   * causes a duplicate the DLQ stream drops.
   */
  async write(m: JsMsg, stage: string, error: LoupeErrorJSON, deliveries: number): Promise<void> {
    const h = toNatsHeaders(userHeaders(m.headers)) ?? natsHeaders();
    h.set(DLQ.subject, m.subject);
    h.set(DLQ.stage, stage);
    h.set(DLQ.msgId, idOf(m));
    h.set(DLQ.deliveries, String(deliveries));
    h.set(DLQ.error, JSON.stringify(error));
    h.set(DLQ.at, new Date().toISOString());
    const msgID = `${m.info.stream}:${m.seq}:${m.info.timestampNanos}`;
    try {
      await this.conn.resilient(`dead-lettering on ${m.subject}`, async () => {
        await this.streams.ensureDlqStream();
        await this.conn.js.publish(this.streams.dlqSubject(m.subject), m.data, { msgID, headers: h });
      });
      // Acked rather than termed: on a WorkQueue stream both remove it, and only an ack can be
      // confirmed, so that stats() no longer counts a message once it is in the dead letters.
      await m.ackAck().catch((err: unknown) => this.onError(err, `removing a dead-lettered message of ${m.subject}`));
    } catch (err) {
      // The original stays unsettled: after its ack wait the next delivery is past the maximum and is dead-lettered again.
      this.onError(err, `dead-lettering a message of ${m.subject}`);
    }
  }

  async list(filter: { subject?: string }): Promise<DeadLetter[]> {
    const wanted = filter.subject === undefined ? this.streams.dlqSubject('>') : this.streams.dlqSubject(checkWorkSubject(filter.subject));
    const letters: DeadLetter[] = [];
    for (let seq = 1; ; ) {
      let stored: StoredMsg;
      try {
        // nats-server >= 2.9 answers `next_by_subj` on STREAM.MSG.GET; the v2 client only types it for direct gets.
        stored = await this.conn.jsm.streams.getMessage(this.streams.dlqStream, { seq, next_by_subj: wanted } as unknown as MsgRequest);
      } catch (err) {
        const code = apiCode(err);
        if (code === API.noMessageFound || code === API.streamNotFound) break;
        throw wrapNatsError(err, 'listing dead letters');
      }
      letters.push(this.#toDeadLetter(stored));
      seq = stored.seq + 1;
    }
    return letters;
  }

  /** The stream's message count: one request, whatever the backlog. */
  async count(): Promise<number> {
    try {
      return (await this.conn.jsm.streams.info(this.streams.dlqStream)).state.messages;
    } catch (err) {
      if (apiCode(err) === API.streamNotFound) return 0;
      throw wrapNatsError(err, 'counting dead letters');
    }
  }

  async retry(seq: number): Promise<void> {
    const stored = await this.#stored(seq);
    const letter = this.#toDeadLetter(stored);
    const h = toNatsHeaders(letter.headers) ?? natsHeaders();
    h.set(ORIGINAL_ID_HEADER, letter.msgId);
    // A new msgId, or the stream would drop it as a duplicate inside the window; stable per dead
    // letter, so that a retry repeated after a crash is de-duplicated.
    const msgID = `loupe-retry:${this.streams.dlqStream}:${seq}:${stored.timestamp}`;
    await this.conn.resilient(`retrying a dead letter on ${letter.subject}`, async () => {
      await this.streams.workQueue(checkWorkSubject(letter.subject));
      await this.conn.js.publish(letter.subject, letter.data, { msgID, headers: h });
    });
    // Gone already: a concurrent retry or drop won, and the msgId above keeps the republish single.
    await this.#delete(seq);
  }

  async drop(seq: number): Promise<void> {
    if (!(await this.#delete(seq))) throw noDeadLetter(seq);
  }

  async #stored(seq: number): Promise<StoredMsg> {
    try {
      return await this.conn.jsm.streams.getMessage(this.streams.dlqStream, { seq });
    } catch (err) {
      const code = apiCode(err);
      if (code === API.noMessageFound || code === API.streamNotFound) throw noDeadLetter(seq);
      throw wrapNatsError(err, 'reading a dead letter', { seq });
    }
  }

  /** False when there is no such dead letter. */
  async #delete(seq: number): Promise<boolean> {
    const { streams } = this.conn.jsm;
    try {
      await streams.deleteMessage(this.streams.dlqStream, seq, false);
      return true;
    } catch (err) {
      // The server reports a missing sequence under several codes (10043, or 10057 with its own text): ask directly.
      if (apiCode(err) === API.streamNotFound) return false;
      const exists = await streams.getMessage(this.streams.dlqStream, { seq }).then(
        () => true,
        (getErr: unknown) => apiCode(getErr) !== API.noMessageFound,
      );
      if (exists) throw wrapNatsError(err, 'removing a dead letter', { seq });
      return false;
    }
  }

  #toDeadLetter(stored: StoredMsg): DeadLetter {
    const h = stored.header;
    let error = NO_ERROR_REPORTED;
    try {
      error = LoupeError.fromJSON(JSON.parse(h.get(DLQ.error)) as Record<string, unknown>).toJSON();
    } catch {
      // A dead letter written by another tool still lists; its error is unknown.
    }
    const deliveries = Number.parseInt(h.get(DLQ.deliveries), 10);
    return {
      seq: stored.seq,
      subject: h.get(DLQ.subject) || stored.subject.slice(this.streams.dlqSubject('').length),
      stage: h.get(DLQ.stage),
      msgId: h.get(DLQ.msgId),
      data: stored.data,
      headers: userHeaders(h),
      deliveries: Number.isNaN(deliveries) ? 0 : deliveries,
      error,
      at: h.get(DLQ.at) || stored.time.toISOString(),
    };
  }
}
