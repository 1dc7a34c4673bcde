// The thread onnxruntime runs in. onnxruntime-node 1.29 runs a session synchronously on the thread
// that calls it, so a run on the process's main thread stops every HTTP answer for as long as the
// model takes (half a second for a page of OCR detection, seconds for background removal). Here
// the sessions live on a worker thread: the main thread only posts feeds and reads outputs. The
// same script serves the pixel thread, which turns large images into float tensors.
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { toTensor } from './pixel-tensor.js';
import type { Call, Reply, WireTensor } from './session.worker-pool.js';

/**
 * Below the main thread's priority, so that on a busy machine HTTP answers win the cores and the
 * models take what is left. On Linux a priority is per thread: pid 0 is this thread, and the threads
 * onnxruntime starts from it (its intra-op pool) inherit it. Elsewhere it may be refused: no matter.
 */
export const INFERENCE_NICE = 10;
try {
  os.setPriority(0, INFERENCE_NICE);
} catch {
  // Not permitted here (or not Linux): the threads keep the process's priority.
}

const sessions = new Map<number, ort.InferenceSession>();
let nextHandle = 1;

async function answer(call: Call): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  switch (call.op) {
    case 'create': {
      const session = await ort.InferenceSession.create(call.path, call.options as ort.InferenceSession.SessionOptions);
      const handle = nextHandle++;
      sessions.set(handle, session);
      return {
        value: {
          handle,
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          inputMetadata: [...session.inputMetadata],
          outputMetadata: [...session.outputMetadata],
        },
      };
    }
    case 'run': {
      const session = sessionOf(call.handle);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(call.feeds)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, [...t.dims]);
      const output = await session.run(feeds);
      const out: Record<string, WireTensor> = {};
      const transfer: ArrayBuffer[] = [];
      for (const [name, t] of Object.entries(output)) {
        const data = t.data as WireTensor['data'];
        out[name] = { type: t.type, data, dims: [...t.dims] };
        // Handed over rather than copied, when the array owns its whole buffer (a slice of a shared pool is copied).
        if (typeof data === 'object' && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer as ArrayBuffer)) {
          transfer.push(data.buffer as ArrayBuffer);
        }
      }
      return { value: out, transfer };
    }
    case 'tensor': {
      const data = toTensor(call.image, call.spec);
      return { value: data, transfer: [data.buffer as ArrayBuffer] };
    }
    case 'convert': {
      // Loaded only here: a process that never converts never loads the converter.
      const converter = await import('@loupe/tfjs-onnx');
      const opts = { ...(call.outputs && { outputs: call.outputs }), ...(call.inputShape && { inputShape: call.inputShape }) };
      const { onnx } = call.from === 'tfjs-layers' ? await converter.convertLayersModel(call.source, opts) : await converter.convertGraphModel(call.source, opts);
      const owned = onnx.byteOffset === 0 && onnx.byteLength === onnx.buffer.byteLength;
      return { value: onnx, ...(owned && { transfer: [onnx.buffer as ArrayBuffer] }) };
    }
    case 'release': {
      const session = sessions.get(call.handle);
      sessions.delete(call.handle);
      await session?.release();
      return { value: undefined };
    }
  }
}

function sessionOf(handle: number): ort.InferenceSession {
  const session = sessions.get(handle);
  if (!session) throw new Error(`no session ${handle} in this inference thread`);
  return session;
}

const port = parentPort!;
port.on('message', (call: Call) => {
  answer(call).then(
    ({ value, transfer }) => {
      const reply: Reply = { id: call.id, ok: true, value };
      try {
        port.postMessage(reply, transfer ?? []);
      } catch {
        // A buffer onnxruntime owns cannot be handed over: copy it instead.
        port.postMessage(reply);
      }
    },
    (err: unknown) => {
      const reply: Reply = { id: call.id, ok: false, message: err instanceof Error ? err.message : String(err) };
      port.postMessage(reply);
    },
  );
});
