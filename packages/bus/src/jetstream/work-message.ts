import type { JsMsg } from 'nats';
import type { WorkMessage } from '../bus.js';
import { NO_ERROR_REPORTED } from '../bus.errors.js';
import type { ConsumerContext, ConsumerSettings } from './consumer.js';
import { idOf } from './dead-letters.js';
import { userHeaders } from './names.js';

/**
 * Which delivery of a stream message is the newest this consumer has seen: a settle from an older
 * one is late however the clocks look (the server redelivered on its own clock, which starts
 * before this process saw the delivery).
 */
export interface DeliveryOwnership {
  isCurrent(): boolean;
  /** The current delivery settled: nothing of this message is left to own. */
  release(): void;
}

/**
 * A delivery as the port shows it. `maxDeliver` is enforced here, not by the server (the durable
 * has `max_deliver: -1`): a failing last delivery or a term is dead-lettered through `track`, so
 * that the slot waits for the dead letter to be written.
 */
export function jetStreamWorkMessage(
  context: ConsumerContext,
  settings: ConsumerSettings,
  m: JsMsg,
  deliveryCount: number,
  track: (p: Promise<void>) => void,
  ownership: DeliveryOwnership,
): WorkMessage {
  const { conn, deadLetters, onError } = context;
  const { ackWaitMs, maxDeliver, durable } = settings;
  let settled = false;
  // Local view of the ack deadline. Past it the server has redelivered (or will): a late settle is
  // ignored, as JetStream would otherwise ack, nak or dead-letter a message another delivery now owns.
  let deadline = Date.now() + ackWaitMs;
  const settle = (): boolean => {
    if (settled || Date.now() > deadline || !ownership.isCurrent()) return false;
    settled = true;
    ownership.release();
    return true;
  };
  // A settle is a publish: on a connection that is gone it is lost, and the ack wait redelivers.
  const send = (settlement: () => void): void => {
    try {
      settlement();
    } catch (err) {
      if (!conn.nc.isClosed()) onError(err, `settling a message of ${m.subject}`);
    }
  };
  return {
    subject: m.subject,
    id: idOf(m),
    data: m.data,
    headers: userHeaders(m.headers),
    deliveryCount,
    maxDeliver,
    ack() {
      if (settle()) send(() => m.ack());
    },
    nak(delayMs, error) {
      if (!settle()) return;
      if (deliveryCount >= maxDeliver) track(deadLetters.write(m, durable, error ?? NO_ERROR_REPORTED, deliveryCount));
      else send(() => (delayMs > 0 ? m.nak(Math.round(delayMs)) : m.nak()));
    },
    term(error) {
      if (settle()) track(deadLetters.write(m, durable, error ?? NO_ERROR_REPORTED, deliveryCount));
    },
    working() {
      if (settled || Date.now() > deadline || !ownership.isCurrent()) return;
      deadline = Date.now() + ackWaitMs;
      send(() => m.working());
    },
  };
}
