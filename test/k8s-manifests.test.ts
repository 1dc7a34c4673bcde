// The Kubernetes manifests as an operator would apply them: every overlay rendered by
// `kubectl kustomize`, every object validated against the Kubernetes and KEDA schemas (strictly: a
// misspelt field fails), and what operators rely on checked against the code itself: the streams
// and consumers KEDA watches are those the workers create, GPUs go to inference pods only, every
// server has its probes, no secret is written in a manifest. No cluster is needed (nor used).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { createMemoryBus, type Bus } from '@loupe/bus';
import { SERVICE_APIS, STAGES, type HandlerDeclaration, type ServiceDefinition } from '@loupe/contracts';
import { bindQueueHandler } from '@loupe/runtime';
import { loadConfig } from '@loupe/cli';
import { streamNameOf } from '../packages/bus/src/jetstream/names.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: any };

const OVERLAYS = ['embedded', 'distributed', 'gpu'] as const;
type Overlay = (typeof OVERLAYS)[number];
const GPU = 'nvidia.com/gpu';
// connectJetStreamBus's default stream prefix, which `loupe serve` does not change.
const STREAM_PREFIX = 'LOUPE';
// installSignalHandlers' shutdown deadline (packages/runtime/src/signals.ts): the kubelet must wait longer.
const SHUTDOWN_DEADLINE_S = 30;

function kubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

if (!kubectl()) {
  const why = 'kubectl not found: the manifests need it to render (kubectl >= 1.27, for Kustomize 5)';
  if (process.env.LOUPE_REQUIRE_KUBECTL === '1') t.fail(`${why}; LOUPE_REQUIRE_KUBECTL=1`);
  else {
    process.stderr.write(`*** Kubernetes manifest tests SKIPPED: ${why} ***\n`);
    t.plan(0, why);
  }
  process.exit(0);
}

const K8S = fileURLToPath(new URL('../k8s/', import.meta.url));
const render = (dir: string): Obj[] =>
  parseAllDocuments(execFileSync('kubectl', ['kustomize', K8S + dir], { encoding: 'utf8' }))
    .map((doc) => doc.toJS() as Obj)
    .filter(Boolean);

const rendered = Object.fromEntries(OVERLAYS.map((name) => [name, render(`overlays/${name}`)])) as Record<Overlay, Obj[]>;
const base = render('base');

// ---- What the code creates: each service's work queues, their streams and durable consumers ----

/** Every queue handler, with the durable consumer bindQueueHandler really asks the bus for. */
async function queuesOfServices(): Promise<Map<string, { stream: string; consumer: string }[]>> {
  const memory = createMemoryBus();
  const asked: { subject: string; durable: string }[] = [];
  const bus = new Proxy(memory, {
    get: (target, key, receiver) =>
      key === 'consume'
        ? (subject: string, opts: { durable: string }, handler: never) => (asked.push({ subject, durable: opts.durable }), target.consume(subject, opts, handler))
        : Reflect.get(target, key, receiver),
  }) as Bus;
  const queues = new Map<string, { stream: string; consumer: string }[]>();
  for (const [service, decls] of Object.entries(SERVICE_APIS)) {
    queues.set(service, []);
    for (const decl of Object.values(decls) as HandlerDeclaration[]) {
      if (decl.mode !== 'queue') continue;
      const sub = await bindQueueHandler(bus, { name: service } as ServiceDefinition, decl, () => {
        throw new Error('no message is sent');
      });
      await sub.drain();
      const { subject, durable } = asked.at(-1)!;
      queues.get(service)!.push({ stream: streamNameOf(STREAM_PREFIX, subject), consumer: durable });
    }
  }
  await memory.close();
  return queues;
}
const QUEUES = await queuesOfServices();
const ALL_SERVICES = Object.keys(SERVICE_APIS);
const serviceOfSubject = (subject: string): string =>
  Object.entries(SERVICE_APIS).find(([, decls]) => Object.values(decls).some((d) => (d as HandlerDeclaration).subject === subject))![0];
/**
 * Services that run models: those owning a pipeline stage, but for `store`, which writes results,
 * and `caption`, whose stage composes from the other models' findings (its neural captioners are
 * asked by request, not queued).
 */
const NO_MODEL_STAGES = new Set(['store', 'caption']);
const INFERENCE = new Set(Object.entries(STAGES).flatMap(([stage, decl]) => (NO_MODEL_STAGES.has(stage) ? [] : [serviceOfSubject(decl.subject)])));
/** Services that answer request/reply calls: a queue backlog cannot wake them from zero. */
const ANSWERS_REQUESTS = new Set(ALL_SERVICES.filter((s) => Object.values(SERVICE_APIS[s as keyof typeof SERVICE_APIS]).some((d) => (d as HandlerDeclaration).mode === 'request')));

// ---- Helpers over rendered objects ----

const ofKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
const workloads = (objs: Obj[]): Obj[] => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const podSpec = (w: Obj): any => w.spec.template.spec;
const loupeContainer = (w: Obj): any => podSpec(w).containers.find((c: any) => c.name === 'loupe');
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

/** The services a Loupe pod runs: LOUPE_SERVICES, or every one (`loupe serve` alone). */
function servicesOf(w: Obj): string[] {
  const c = loupeContainer(w);
  if (!c) return [];
  const fromEnv = c.env?.find((e: any) => e.name === 'LOUPE_SERVICES')?.value as string | undefined;
  const flag = c.args?.indexOf('--services') ?? -1;
  const raw = fromEnv ?? (flag >= 0 ? c.args[flag + 1] : undefined);
  return raw ? raw.split(',').map((s: string) => s.trim()) : ALL_SERVICES;
}
const runsInference = (w: Obj): boolean => servicesOf(w).some((s) => INFERENCE.has(s));

// ---- Schema validation, strict on unknown fields ----

async function modelOf(o: Obj): Promise<any> {
  const module = o.apiVersion.startsWith('keda.sh/') ? `@kubernetes-models/keda/${o.apiVersion}` : `kubernetes-models/${o.apiVersion}`;
  const Model = (await import(module))[o.kind];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return Model;
}

/**
 * The fields the schema does not define. The models' compiled validators read exactly the
 * properties their schema names (and every key of a map), so a field the validator never read is
 * one the schema does not know: a Proxy records the reads.
 */
function unknownFields(validate: (this: unknown) => void, obj: unknown): string[] {
  const read = new Set<string>();
  const watch = (value: unknown, path: string): unknown =>
    value === null || typeof value !== 'object'
      ? value
      : new Proxy(value, {
          get(target, key, receiver) {
            const v = Reflect.get(target, key, receiver);
            if (typeof key !== 'string' || !Object.hasOwn(target, key)) return v;
            read.add(`${path}/${key}`);
            return watch(v, `${path}/${key}`);
          },
        });
  try {
    validate.call(watch(obj, ''));
  } catch {
    // An invalid object fails the schema check beside this one; its fields were read all the same.
  }
  const unknown: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const at = `${path}/${key}`;
      if (!Array.isArray(value) && !read.has(at)) unknown.push(at);
      else walk(child, at);
    }
  };
  walk(obj, '');
  return unknown;
}

for (const overlay of OVERLAYS) {
  t.test(`${overlay}: every object is valid against its schema, with no unknown field`, async (t) => {
    for (const o of rendered[overlay]) {
      const Model = await modelOf(o);
      const what = `${o.kind}/${o.metadata.name}`;
      t.doesNotThrow(() => new Model(o).validate(), `${what} is valid`);
      t.same(unknownFields(Model.prototype.validate, o), [], `${what} has no field its schema does not define`);
    }
  });
}

t.test('the strict check refuses a misspelt field the models accept', async (t) => {
  const deployment = structuredClone(ofKind(rendered.distributed, 'Deployment')[0]!);
  loupeContainer(deployment).readinesProbe = loupeContainer(deployment).readinessProbe;
  const Model = await modelOf(deployment);
  t.doesNotThrow(() => new Model(deployment).validate(), 'the model alone lets it through');
  t.same(unknownFields(Model.prototype.validate, deployment), ['/spec/template/spec/containers/0/readinesProbe']);
});

// ---- What an operator relies on ----

t.test('no two objects share a kind and a name in one overlay', async (t) => {
  for (const overlay of OVERLAYS) {
    const names = rendered[overlay].map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    t.same(names.filter((n, i) => names.indexOf(n) !== i), [], overlay);
  }
});

t.test('the API Service is the base one in both installations, and no other Service name is shared', async (t) => {
  const [api] = ofKind(base, 'Service');
  t.equal(api?.metadata.name, 'loupe-api');
  const servicesIn = (overlay: Overlay) => ofKind(rendered[overlay], 'Service').map((s) => s.metadata.name);
  const shared = servicesIn('embedded').filter((name) => servicesIn('distributed').includes(name));
  t.same(shared, ofKind(base, 'Service').map((s) => s.metadata.name), 'only what the base defines, deliberately');
  for (const overlay of OVERLAYS) {
    for (const service of ofKind(rendered[overlay], 'Service')) {
      const pods = workloads(rendered[overlay]).filter((w) => matches(service.spec.selector, w.spec.template.metadata.labels));
      t.ok(pods.length > 0, `${overlay}: Service/${service.metadata.name} selects a pod`);
      if (service.metadata.name === 'loupe-api') t.same(pods.flatMap(servicesOf).filter((s) => s === 'gateway'), ['gateway'], `${overlay}: loupe-api reaches the one gateway`);
    }
  }
});

t.test('every service runs somewhere, each in one Deployment', async (t) => {
  for (const overlay of OVERLAYS) {
    const run = workloads(rendered[overlay]).flatMap(servicesOf);
    t.same([...run].sort(), [...ALL_SERVICES].sort(), overlay);
  }
});

t.test('KEDA watches the streams and consumers the workers create, and only those', async (t) => {
  for (const overlay of ['distributed', 'gpu'] as const) {
    const deployments = ofKind(rendered[overlay], 'Deployment');
    const scaled = ofKind(rendered[overlay], 'ScaledObject');
    for (const so of scaled) {
      const target = deployments.find((d) => d.metadata.name === so.spec.scaleTargetRef.name);
      t.ok(target, `${overlay}: ScaledObject/${so.metadata.name} scales a Deployment of this overlay`);
      if (!target) continue;
      t.notOk(target.spec.replicas, `${overlay}: ${target.metadata.name} leaves its replica count to KEDA`);
      const expected = servicesOf(target).flatMap((s) => QUEUES.get(s) ?? []);
      const watched = so.spec.triggers.map((tr: any) => {
        t.equal(tr.type, 'nats-jetstream');
        t.match(tr.metadata, { natsServerMonitoringEndpoint: /^[\w.-]+:\d+$/, account: '$G', lagThreshold: /^\d+$/ }, `${so.metadata.name}: a complete trigger`);
        return { stream: tr.metadata.stream, consumer: tr.metadata.consumer };
      });
      const byName = (a: { stream: string }, b: { stream: string }) => a.stream.localeCompare(b.stream);
      t.same(watched.sort(byName), expected.sort(byName), `${overlay}: ${so.metadata.name} watches exactly its services' queues`);
      const answers = servicesOf(target).some((s) => ANSWERS_REQUESTS.has(s));
      if (answers) t.ok(so.spec.minReplicaCount >= 1, `${so.metadata.name} answers requests: it never scales to zero`);
      else if (overlay === 'gpu') t.equal(so.spec.minReplicaCount, 0, `${so.metadata.name} holds no GPU while idle`);
    }
    // Every queue but the API pod's (its SQLite stores keep it to one replica) scales on its backlog.
    const scaledTargets = new Set(scaled.map((so) => so.spec.scaleTargetRef.name));
    for (const d of deployments.filter(runsInference)) t.ok(scaledTargets.has(d.metadata.name), `${overlay}: ${d.metadata.name} is scaled by KEDA`);
  }
});

t.test('GPUs, their toleration and node selection on every inference pod of the gpu overlay, on no other', async (t) => {
  for (const overlay of OVERLAYS) {
    for (const w of workloads(rendered[overlay])) {
      const spec = podSpec(w);
      const wantsGpu = overlay === 'gpu' && runsInference(w);
      const what = `${overlay}: ${w.metadata.name}`;
      const gpus = spec.containers.map((c: any) => [c.resources?.requests?.[GPU], c.resources?.limits?.[GPU]]);
      const tolerates = (spec.tolerations ?? []).some((tol: any) => tol.key === GPU && tol.effect === 'NoSchedule');
      const provider = loupeContainer(w)?.env?.find((e: any) => e.name === 'LOUPE_EXECUTION_PROVIDER')?.value;
      if (wantsGpu) {
        t.same(gpus, [[1, 1]], `${what} requests one GPU`);
        t.ok(tolerates, `${what} tolerates ${GPU}:NoSchedule`);
        t.same(spec.nodeSelector, { [`${GPU}.present`]: 'true' }, `${what} runs on nodes GPU feature discovery labels`);
        t.equal(provider, 'cuda', `${what} uses CUDA`);
      } else {
        t.ok(gpus.flat().every((g: unknown) => g === undefined), `${what} requests no GPU`);
        t.notOk(tolerates || spec.nodeSelector || provider, `${what} neither tolerates GPU nodes nor selects them`);
      }
    }
  }
});

t.test('probes, graceful termination, resources and a locked-down container everywhere', async (t) => {
  for (const overlay of OVERLAYS) {
    for (const w of workloads(rendered[overlay])) {
      const spec = podSpec(w);
      const what = `${overlay}: ${w.metadata.name}`;
      t.ok(spec.securityContext?.runAsNonRoot, `${what} runs as non-root`);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        t.match(c.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, `${what}/${c.name} is locked down`);
        t.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${what}/${c.name} has requests and a memory limit`);
        t.match(c.image, /:[\w.-]+$/, `${what}/${c.name} names its image tag`);
      }
      for (const c of spec.containers.filter((c: any) => c.ports?.length)) {
        t.ok(c.startupProbe && c.readinessProbe && c.livenessProbe, `${what}/${c.name} serves, so it has all three probes`);
      }
      const loupe = loupeContainer(w);
      if (!loupe) continue;
      // Readiness only after warm-up; liveness never waits on models (it would kill a loading pod).
      t.match(loupe, { startupProbe: { httpGet: { path: '/readyz' } }, readinessProbe: { httpGet: { path: '/readyz' } }, livenessProbe: { httpGet: { path: '/healthz' } } }, `${what}: probes`);
      t.ok(spec.terminationGracePeriodSeconds > SHUTDOWN_DEADLINE_S, `${what} outlasts the ${SHUTDOWN_DEADLINE_S} s shutdown deadline`);
      t.ok(loupe.volumeMounts.some((m: any) => m.mountPath === '/tmp'), `${what} has a writable /tmp`);
      if (runsInference(w)) t.ok(spec.initContainers?.some((c: any) => c.args?.join(' ') === 'models prepare'), `${what} prepares its model cache first`);
    }
    const budgets = ofKind(rendered[overlay], 'PodDisruptionBudget');
    for (const d of ofKind(rendered[overlay], 'Deployment').filter((d) => d.spec.replicas === undefined)) {
      t.ok(budgets.some((b) => matches(b.spec.selector.matchLabels, d.spec.template.metadata.labels)), `${overlay}: ${d.metadata.name} has a PodDisruptionBudget`);
    }
  }
});

/** A Kubernetes quantity in bytes (the binary and decimal suffixes a volume size is written with). */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

t.test("each pod's disk budgets fit the volumes they fill: a full cache never evicts a worker or fills a claim", async (t) => {
  for (const overlay of OVERLAYS) {
    const objs = rendered[overlay];
    const settings = ofKind(objs, 'ConfigMap').find((m) => m.metadata.name.startsWith('loupe-') && m.data?.LOUPE_DATA_DIR)!;
    const claims = new Map(ofKind(objs, 'PersistentVolumeClaim').map((c) => [c.metadata.name, quantity(c.spec.resources.requests.storage)]));
    for (const w of workloads(objs)) {
      const loupe = loupeContainer(w);
      if (!loupe) continue;
      const env: Record<string, string> = { ...settings.data, ...Object.fromEntries((loupe.env ?? []).filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value])) };
      // The settings the budgets depend on, parsed as the pod parses them.
      const config = loadConfig(Object.fromEntries(['LOUPE_DATA_DIR', 'LOUPE_CACHE_MAX_BYTES', 'LOUPE_DERIVED_MAX_BYTES'].map((k) => [k, env[k]])));
      const volumes = new Map(podSpec(w).volumes.map((v: any) => [v.name, v.emptyDir ? quantity(v.emptyDir.sizeLimit) : claims.get(v.persistentVolumeClaim?.claimName)]));
      // Each folder lives on the volume mounted at the longest prefix of its path.
      const volumeOf = (dir: string): string => loupe.volumeMounts.filter((m: any) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`)).sort((a: any, b: any) => b.mountPath.length - a.mountPath.length)[0].name;
      const filled = new Map<string, number>();
      for (const [dir, bytes] of [[`${config.dataDir}/cache`, config.fetch.cacheMaxBytes], [`${config.dataDir}/derived`, config.fetch.derivedMaxBytes]] as const) {
        filled.set(volumeOf(dir), (filled.get(volumeOf(dir)) ?? 0) + bytes);
      }
      for (const [volume, bytes] of filled) {
        const size = volumes.get(volume) as number | undefined;
        t.ok(size !== undefined && bytes <= 0.8 * size, `${overlay}: ${w.metadata.name}'s budgets on volume ${volume}: ${(bytes / 2 ** 30).toFixed(1)} GiB of ${size === undefined ? '?' : (size / 2 ** 30).toFixed(1)} GiB`);
      }
    }
  }
});

t.test('one image tag per overlay: the CUDA one on GPU nodes only', async (t) => {
  for (const overlay of OVERLAYS) {
    const images = new Set(workloads(rendered[overlay]).flatMap((w) => [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers]).map((c: any) => c.image as string).filter((i) => i.startsWith('loupe:')));
    t.equal(images.size, 1, `${overlay}: ${[...images].join(', ')}`);
    const [image] = images;
    if (overlay === 'gpu') t.match(image, /-cuda$/);
    else t.notMatch(image, /cuda/);
  }
});

t.test('no secret is written in a manifest: Secrets are referenced by name', async (t) => {
  const SECRET_NAME = /KEY|TOKEN|PASSWORD|SECRET|MONGODB_URL|QDRANT_URL/i;
  for (const overlay of OVERLAYS) {
    t.same(ofKind(rendered[overlay], 'Secret'), [], `${overlay}: no Secret object`);
    for (const cm of ofKind(rendered[overlay], 'ConfigMap')) {
      t.same(Object.keys(cm.data ?? {}).filter((k) => SECRET_NAME.test(k) && !k.endsWith('_FILE')), [], `${overlay}: ConfigMap/${cm.metadata.name} holds no secret`);
    }
    for (const w of workloads(rendered[overlay])) {
      for (const c of [...(podSpec(w).initContainers ?? []), ...podSpec(w).containers]) {
        const literal = (c.env ?? []).filter((e: any) => SECRET_NAME.test(e.name) && !e.name.endsWith('_FILE') && e.valueFrom?.secretKeyRef === undefined);
        t.same(literal, [], `${overlay}: ${w.metadata.name}/${c.name} takes its secrets from Secrets`);
      }
      t.ok((podSpec(w).volumes ?? []).every((v: any) => !v.secret || v.secret.secretName), `${overlay}: ${w.metadata.name} mounts Secrets by name`);
    }
  }
});

t.test('only the API is reached from outside the namespace', async (t) => {
  for (const overlay of OVERLAYS) {
    const policies = ofKind(rendered[overlay], 'NetworkPolicy');
    for (const w of workloads(rendered[overlay])) {
      const labels = w.spec.template.metadata.labels;
      const selecting = policies.filter((p) => matches(p.spec.podSelector.matchLabels, labels));
      t.ok(selecting.length > 0, `${overlay}: ${w.metadata.name} is isolated by a policy`);
      const open = selecting.flatMap((p) => p.spec.ingress ?? []).filter((rule: any) => !rule.from || rule.from.some((f: any) => f.namespaceSelector || f.ipBlock));
      const isApi = servicesOf(w).includes('gateway');
      if (isApi) t.ok(open.length > 0, `${overlay}: the API is reachable`);
      // The one outside reader allowed elsewhere: KEDA's operator, on NATS's monitoring port.
      else t.ok(open.every((rule: any) => rule.from && rule.ports?.every((p: any) => p.port === 'monitoring')), `${overlay}: ${w.metadata.name} is reached from the namespace only`);
    }
  }
});
