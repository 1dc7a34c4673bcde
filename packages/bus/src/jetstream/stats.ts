import type { QueueStats } from '../bus.js';
import type { JetStreamConnection } from './connection.js';
import { API, apiCode, checkWorkSubject, wrapNatsError } from './names.js';
import { countPresence } from './presence.js';
import type { JetStreamStreams } from './streams.js';

/**
 * `pending` = messages in the stream that no delivery holds, `inFlight` = the durable's
 * `num_ack_pending` (which, unlike the memory bus, includes messages waiting out a nak delay:
 * JetStream keeps them in the ack-pending set), `consumers` = live `consume` calls in all processes.
 */
export async function queueStats(conn: JetStreamConnection, streams: JetStreamStreams, subject: string): Promise<QueueStats> {
  const stream = streams.workStreamOf(checkWorkSubject(subject));
  try {
    const [info, inFlight, consumers] = await Promise.all([
      conn.jsm.streams.info(stream),
      (async () => {
        let sum = 0;
        for await (const ci of conn.jsm.consumers.list(stream)) sum += ci.num_ack_pending;
        return sum;
      })(),
      countPresence(conn, streams, stream),
    ]);
    return { subject, pending: Math.max(0, info.state.messages - inFlight), inFlight, consumers };
  } catch (err) {
    if (apiCode(err) === API.streamNotFound) return { subject, pending: 0, inFlight: 0, consumers: 0 };
    throw wrapNatsError(err, `stats of ${subject}`, { subject });
  }
}
