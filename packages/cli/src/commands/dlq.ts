import { decode } from '@loupe/bus';
import { LoupeError } from '@loupe/contracts';
import type { LoupeConfig } from '../config.js';
import { busFromConfig } from '../embedded.js';

/**
 * `loupe dlq list|retry|drop`: dead letters live in the bus. With NATS JetStream they are in a
 * stream any process can read; the in-memory bus keeps them inside the serving process, whose
 * HTTP API (`/v1/dead-letters`) is then the way in.
 */
export async function dlqCommand(config: LoupeConfig, action: string | undefined, arg: string | undefined, opts: { subject?: string | undefined }, write: (line: string) => void): Promise<number> {
  if (config.bus !== 'nats') {
    throw new LoupeError(
      'LOUPE_ERR_CONFIG_INVALID',
      'loupe dlq reads the dead letters of NATS JetStream (LOUPE_BUS=nats, LOUPE_NATS_URL); with the in-memory bus they live in the serving process: use GET /v1/dead-letters, POST /v1/dead-letters/{seq}/retry, DELETE /v1/dead-letters/{seq}',
    );
  }
  const seqOf = (): number => {
    const seq = Number(arg);
    if (!Number.isInteger(seq) || seq < 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `loupe dlq ${action} needs the sequence number a dead letter is listed with, got ${JSON.stringify(arg ?? '')}`);
    return seq;
  };
  const bus = await busFromConfig(config);
  try {
    switch (action) {
      case 'list': {
        const letters = await bus.deadLetters.list(opts.subject ? { subject: opts.subject } : {});
        for (const d of letters) {
          let job: unknown;
          try {
            const message = decode<{ jobId?: string; task?: { canvasId?: string } }>(d.data);
            job = { job: message.jobId, canvas: message.task?.canvasId };
          } catch {
            job = {};
          }
          write(JSON.stringify({ seq: d.seq, subject: d.subject, stage: d.stage, msgId: d.msgId, deliveries: d.deliveries, at: d.at, error: d.error, ...(job as object) }));
        }
        return 0;
      }
      case 'retry':
        await bus.deadLetters.retry(seqOf());
        write(`dead letter ${arg} is back on its queue`);
        return 0;
      case 'drop':
        await bus.deadLetters.drop(seqOf());
        write(`dead letter ${arg} dropped`);
        return 0;
      default:
        throw new LoupeError('LOUPE_ERR_VALIDATION', `unknown dlq command ${JSON.stringify(action ?? '')}: list, retry <seq> or drop <seq>`);
    }
  } finally {
    await bus.close();
  }
}
