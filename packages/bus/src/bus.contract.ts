import type { Test } from 'tap';
import type { Bus } from './bus.js';
import type { Kit } from './contract/contract.kit.js';
import { requestReplyCases, closeCases } from './contract/request-reply.cases.js';
import { deadLetterCases, deliveryCases, sharingCases } from './contract/work-queue.cases.js';

/**
 * The behaviour every Bus adapter must show, run against each adapter that can be started here
 * (memory, and JetStream against a real nats-server); the cases live in contract/. Timings are
 * tens of milliseconds; nothing asserts that something is fast, only that it happens, and happens once.
 */
export function busContract(t: Test, name: string, open: () => Promise<Bus>): void {
  let counter = 0;
  const subject = (): string => `loupe.contract.s${++counter}.v1`;

  async function fresh(t: Test): Promise<Bus> {
    const bus = await open();
    t.teardown(() => bus.close());
    return bus;
  }

  const kit: Kit = { fresh, subject };

  t.test(`${name}: work queues`, async (t) => {
    deliveryCases(t, kit);
    deadLetterCases(t, kit);
    sharingCases(t, kit);
  });

  t.test(`${name}: request/reply`, async (t) => requestReplyCases(t, kit));
  t.test(`${name}: close`, async (t) => closeCases(t, kit));
}
