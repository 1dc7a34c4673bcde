import { performance } from 'node:perf_hooks';
import {
  exponentialBackoff,
  failSpan,
  inConsumerSpan,
  jittered,
  type Span,
  SUBJECTS,
  toLoupeError,
  type HandlerContext,
  type HandlerDeclaration,
  type JobEvent,
  type ServiceDefinition,
  type StageEnvelope,
} from '@loupe/contracts';
import { decode, encode, type Bus, type Subscription, type WorkMessage } from '@loupe/bus';
import type { StageObserver } from './metrics/app-metrics.js';
import { compileValidator, validationError, validationIssues } from './validation.js';

export interface QueueBindingOptions {
  readonly concurrency?: number;
  readonly maxDeliver?: number;
  readonly ackWaitMs?: number;
  /** Delay before the n-th redelivery (n starts at 1). */
  readonly backoffMs?: (delivery: number) => number;
}

// The bus's backoff, spread by ±25 % so that tasks failed together do not all come back together.
const defaultBackoff = (delivery: number): number => jittered(exponentialBackoff(delivery, 500, 30_000));

/**
 * Binds a pipeline stage handler to its work queue. The message is a routing
 * slip (StageEnvelope): route[0] is this stage. On success the handler's output
 * is added to `results` and the envelope goes to the next stage; every outcome
 * is reported on the job-events queue. Message ids are derived from job, task
 * and stage, so a redelivered message never forwards or reports twice.
 *
 * Failures: a retryable error is retried with backoff until the queue's maximum
 * deliveries; then, or at once for an error no retry can fix (bad input), the
 * task fails at this stage. Failures that may be the system's fault (retryable,
 * or internal) are also dead-lettered for an operator to replay.
 */
export async function bindQueueHandler(
  bus: Bus,
  service: ServiceDefinition,
  decl: HandlerDeclaration,
  makeContext: (msg: WorkMessage, signal: AbortSignal) => HandlerContext,
  opts: QueueBindingOptions = {},
  observer?: StageObserver,
): Promise<Subscription> {
  const backoff = opts.backoffMs ?? defaultBackoff;
  // The same validator as the handler's HTTP route: one schema, one check.
  const validate = compileValidator(decl.input, 'message');
  const report = (event: JobEvent, suffix: string): Promise<unknown> =>
    bus.publish(SUBJECTS.jobEvents, encode(event), { msgId: `${event.jobId}/${event.key}/${suffix}` });

  return bus.consume(
    decl.subject,
    {
      durable: `${service.name}-${decl.name}`.replace(/[^A-Za-z0-9_-]/g, '_'),
      ...(opts.concurrency !== undefined && { concurrency: opts.concurrency }),
      ...(opts.maxDeliver !== undefined && { maxDeliver: opts.maxDeliver }),
      ...(opts.ackWaitMs !== undefined && { ackWaitMs: opts.ackWaitMs }),
    },
    async (msg) => {
      const envelope = decode<StageEnvelope>(msg.data);
      const stage = envelope.route[0]?.stage ?? decl.name;
      const attributes = { 'loupe.stage': stage, 'loupe.job.id': envelope.jobId, 'loupe.canvas.id': envelope.task.canvasId };
      // The span's parent is the stage before (or the job's start): one trace per job, across processes.
      await inConsumerSpan(`process ${stage}`, { busKind: bus.kind, subject: decl.subject }, msg, (span) => handle(msg, envelope, stage, span), attributes);
    },
  );

  async function handle(msg: WorkMessage, envelope: StageEnvelope, stage: string, span: Span): Promise<void> {
    const rest = envelope.route.slice(1);
    const current = envelope.route[0];
    const controller = new AbortController();
    const ctx = makeContext(msg, controller.signal);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    observer?.started(stage);
    try {
      const input = { task: envelope.task, results: envelope.results, options: current?.options ?? {} };
      if (!validate(input)) throw validationError(validationIssues(validate.errors, 'message'));
      const output = await decl.handler(input, ctx);
      const ms = performance.now() - started;
      const next = rest[0];
      if (next) {
        const forwarded: StageEnvelope = { ...envelope, route: rest, results: { ...envelope.results, [stage]: output } };
        await bus.publish(next.subject, encode(forwarded), { msgId: `${envelope.jobId}/${envelope.key}/${next.stage}`, headers: msg.headers });
      }
      await report({ type: 'stage-done', jobId: envelope.jobId, key: envelope.key, stage, ms }, `${stage}/done`);
      if (!next) await report({ type: 'task-done', jobId: envelope.jobId, key: envelope.key }, 'task-done');
      msg.ack();
      observer?.finished(stage, 'done', seconds());
    } catch (thrown) {
      const err = toLoupeError(thrown);
      failSpan(span, err);
      // An unknown error reaches the job and the dead letter as an opaque "Internal error"; the log keeps what was thrown, stack and all.
      const logged = err.code === 'LOUPE_ERR_INTERNAL' && thrown !== err ? thrown : err.toJSON();
      if (err.retryable && msg.deliveryCount < msg.maxDeliver) {
        ctx.log.warn({ err: logged, attempt: msg.deliveryCount }, `${stage} failed, will retry`);
        msg.nak(backoff(msg.deliveryCount), err.toJSON());
        observer?.finished(stage, 'retried', seconds(), err.code);
        return;
      }
      ctx.log.warn({ err: logged, canvas: envelope.task.canvasId }, `${stage} failed for good`);
      await report(
        { type: 'stage-failed', jobId: envelope.jobId, key: envelope.key, canvas: envelope.task.canvasId, stage, code: err.code, message: err.message },
        `${stage}/failed`,
      );
      if (err.retryable || err.code === 'LOUPE_ERR_INTERNAL') {
        msg.term(err.toJSON());
        observer?.deadLettered(stage);
      } else msg.ack();
      observer?.finished(stage, 'failed', seconds(), err.code);
    } finally {
      controller.abort();
      observer?.left(stage);
    }
  }
}
