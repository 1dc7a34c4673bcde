import { LoupeError, type HandlerDeclaration } from '@loupe/contracts';
import type { Static, TSchema } from '@sinclair/typebox';
import { decode, encode, type Bus, type PublishOptions, type RequestOptions } from './bus.js';

/** What a caller needs of a handler's declaration: an implementation elsewhere is enough (SERVICE_APIS). */
type Declared<I extends TSchema, O extends TSchema> = Pick<HandlerDeclaration<I, O>, 'mode' | 'subject' | 'input' | 'output'>;

export interface ServiceClient {
  /** Calls a `mode: 'request'` handler over the bus; its errors are thrown as LoupeErrors. */
  request<I extends TSchema, O extends TSchema>(decl: Declared<I, O>, input: Static<I>, opts?: RequestOptions): Promise<Static<O>>;
  /** Puts work on a `mode: 'queue'` handler's queue; `msgId` de-duplicates. */
  enqueue<I extends TSchema, O extends TSchema>(decl: Declared<I, O>, input: Static<I>, opts: PublishOptions): Promise<{ duplicate: boolean }>;
}

/**
 * Reaches handlers by their declarations, wherever they run: in this process or another one on the
 * same bus. It lives beside the bus, not in the runtime, so that a caller that only holds a bus
 * (the gateway's job runner) calls services the same way as every other.
 */
export function createClient(bus: Bus): ServiceClient {
  return {
    async request(decl, input, opts) {
      if (decl.mode !== 'request') {
        throw new LoupeError('LOUPE_ERR_INTERNAL', `${decl.subject} is a work queue: enqueue to it, do not request`);
      }
      const reply = await bus.request(decl.subject, encode(input), opts);
      try {
        return decode(reply.data);
      } catch (err) {
        throw new LoupeError('LOUPE_ERR_INTERNAL', `the reply on ${decl.subject} is not JSON`, { cause: err });
      }
    },
    async enqueue(decl, input, opts) {
      if (decl.mode !== 'queue') {
        throw new LoupeError('LOUPE_ERR_INTERNAL', `${decl.subject} answers requests: request it, do not enqueue`);
      }
      return bus.publish(decl.subject, encode(input), opts);
    },
  };
}
