import { LoupeError } from '@loupe/contracts';

/**
 * OpenTelemetry tracing for one process, configured the standard way (OTEL_* variables) and off
 * unless they ask for it. Off, the SDK is never even loaded: Loupe's spans go to the API's no-op
 * tracer, and HTTP requests are not instrumented at all.
 */
export interface Tracing {
  /** Sends what the batch holds now (before a process exits, or in a test). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export type TracesExporter = 'otlp' | 'console';

const EXPORTERS: readonly string[] = ['otlp', 'console', 'none'];

/**
 * Which exporter the environment asks for, or undefined for tracing off: OTEL_SDK_DISABLED=true
 * or OTEL_TRACES_EXPORTER=none turn it off; OTEL_TRACES_EXPORTER=otlp|console, or an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), turn it on. Unlike the
 * specification's default (otlp to localhost), nothing set means off: a laptop has no collector.
 */
export function tracesExporterFromEnv(env: NodeJS.ProcessEnv = process.env): TracesExporter | undefined {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  const named = env['OTEL_TRACES_EXPORTER']?.trim().toLowerCase();
  if (named) {
    // A list is allowed by the specification; Loupe takes one.
    const first = named.split(',')[0]!.trim();
    if (!EXPORTERS.includes(first)) {
      throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `OTEL_TRACES_EXPORTER=${named}: Loupe sends traces with otlp (OTLP/HTTP) or console, or none`);
    }
    return first === 'none' ? undefined : (first as TracesExporter);
  }
  return env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ? 'otlp' : undefined;
}

let started: Promise<Tracing | undefined> | undefined;
let enabled = false;

/** Whether this process registered the SDK: the HTTP instrumentation and the logs' trace ids follow it. */
export function tracingEnabled(): boolean {
  return enabled;
}

export interface TracingOptions {
  /** Resource attributes beside the SDK's and the environment's (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win). */
  readonly attributes?: Record<string, string>;
}

/**
 * Registers the SDK once per process when the environment (process.env: the exporter reads it
 * too) asks for tracing; later calls return the same; undefined when off. Spans leave in batches (OTEL_BSP_SCHEDULE_DELAY, default 5 s).
 */
export function startTracing(opts: TracingOptions = {}): Promise<Tracing | undefined> {
  started ??= register(opts);
  return started;
}

async function register(opts: TracingOptions): Promise<Tracing | undefined> {
  const env = process.env;
  const exporterKind = tracesExporterFromEnv(env);
  if (!exporterKind) return undefined;
  const [api, sdk, core, hooks, resources, otlp] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
    exporterKind === 'otlp' ? import('@opentelemetry/exporter-trace-otlp-http') : undefined,
  ]);
  // The OTLP exporter reads its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_* itself.
  const exporter = otlp ? new otlp.OTLPTraceExporter() : new sdk.ConsoleSpanExporter();
  const delay = env['OTEL_BSP_SCHEDULE_DELAY'] ? Number(env['OTEL_BSP_SCHEDULE_DELAY']) : Number.NaN;
  const processor = new sdk.BatchSpanProcessor({ exporter, ...(Number.isFinite(delay) && delay >= 0 && { scheduledDelayMillis: delay }) });
  const detected = resources.detectResources({ detectors: [resources.processDetector, resources.hostDetector, resources.serviceInstanceIdDetector] });
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'loupe', 'service.version': '0.1.0', ...opts.attributes }))
    .merge(detected)
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.TracerProvider({ resource, sampler: samplerFromEnv(sdk, env), spanProcessors: [processor] });
  api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }));
  api.trace.setGlobalTracerProvider(provider);
  enabled = true;
  return { forceFlush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}

type Sdk = typeof import('@opentelemetry/sdk-trace');

/** OTEL_TRACES_SAMPLER and its argument, as the specification names them; parent-based always-on by default. */
function samplerFromEnv(sdk: Sdk, env: NodeJS.ProcessEnv): import('@opentelemetry/sdk-trace').Sampler {
  const name = env['OTEL_TRACES_SAMPLER']?.trim().toLowerCase() || 'parentbased_always_on';
  const arg = Number(env['OTEL_TRACES_SAMPLER_ARG'] ?? '1');
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  const root = (base: string): import('@opentelemetry/sdk-trace').Sampler => {
    if (base === 'always_on') return new sdk.AlwaysOnSampler();
    if (base === 'always_off') return new sdk.AlwaysOffSampler();
    if (base === 'traceidratio') return new sdk.TraceIdRatioBasedSampler(ratio);
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `OTEL_TRACES_SAMPLER=${name}: expected always_on, always_off, traceidratio or parentbased_ one of those`);
  };
  return name.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root: root(name.slice('parentbased_'.length)) }) : root(name);
}
