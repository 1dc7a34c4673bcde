import t from 'tap';
import { context, trace } from '@opentelemetry/api';
import { inSpan, withTraceContext } from '@loupe/contracts';
import { startTracing, tracesExporterFromEnv, tracingEnabled } from './tracing-setup.js';

t.test('the environment turns tracing on, the standard way, and nothing set means off', async (t) => {
  t.equal(tracesExporterFromEnv({}), undefined, 'nothing set: off (no collector on a laptop)');
  t.equal(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), 'otlp');
  t.equal(tracesExporterFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), 'otlp');
  t.equal(tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: 'console' }), 'console');
  t.equal(tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: 'otlp,console' }), 'otlp', 'a list: the first');
  t.equal(tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), undefined, 'none wins over an endpoint');
  t.equal(tracesExporterFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), undefined, 'the SDK disabled');
  t.throws(() => tracesExporterFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /zipkin.*otlp/ });
});

t.test('off, nothing is registered and spans are the no-op ones', async (t) => {
  t.equal(await startTracing(), undefined, 'this test process sets no OTEL_* variable');
  t.equal(tracingEnabled(), false);
  await inSpan('anything', {}, async (span) => {
    t.equal(span.isRecording(), false, 'a span that records nothing');
    t.equal(trace.getSpan(context.active()), undefined, 'no context manager: nothing is kept to propagate');
  });
  const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  t.same(withTraceContext(headers), headers, "a message's trace context passes through unchanged");
});
