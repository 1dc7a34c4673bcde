import type { Test } from 'tap';
import { createMemoryBus, type Bus } from '@loupe/bus';
import type { ApiDeclaration, ServiceDefinition } from '@loupe/contracts';
import { createServiceApp, type LoupeApp } from './service-app.js';

/**
 * Two processes on one in-memory bus, started: a worker running `service`, and a gateway that
 * mounts `remote` (the service's declarations) as routes over the bus. Closed when the test ends.
 */
export async function workerAndGateway(t: Test, service: ServiceDefinition, remote: Readonly<Record<string, ApiDeclaration>>): Promise<{ worker: LoupeApp; gateway: LoupeApp; bus: Bus }> {
  const bus = createMemoryBus();
  const worker = await createServiceApp([service], { bus, logger: false });
  const gateway = await createServiceApp([], { bus, logger: false, remote: { [service.name]: remote } });
  t.teardown(async () => {
    await gateway.close();
    await worker.close();
    await bus.close();
  });
  await worker.start();
  await gateway.start();
  return { worker, gateway, bus };
}
