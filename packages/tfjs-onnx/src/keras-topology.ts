import { LoupeError } from '@loupe/contracts';
import type { KerasLayerJson } from './tfjs-model.js';

/**
 * A Keras model config (functional or Sequential, as TF.js layers models store it) unrolled into
 * layer calls in an order where every call comes after the calls it reads. A layer called more than
 * once (a shared layer) gives one call per inbound node; its tensors are keyed `layer:node:tensor`.
 */
export interface LayerCall {
  /** The layer's name; `layer.name` and `layer.config.name` agree in what Keras writes. */
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Which call of the layer this is (the Keras node index). */
  nodeIndex: number;
  /** How many times the layer is called in the model. */
  callCount: number;
  /** Keys of the tensors it reads. */
  inputs: string[];
  /** Key of its (first) output tensor. */
  output: string;
}

export interface KerasInput {
  name: string;
  key: string;
  dtype: string;
  /** Batch included; null (unknown) dims as -1. */
  shape: number[] | undefined;
}

export interface KerasModel {
  calls: LayerCall[];
  inputs: KerasInput[];
  outputs: string[];
  /** Every layer's first call, by layer name (what `outputs: [name]` selects). */
  layers: Map<string, LayerCall>;
}

export const tensorKey = (layer: string, node = 0, tensor = 0): string => `${layer}:${node}:${tensor}`;

/** Reads `modelTopology.model_config` (or a bare `{class_name, config}`) into layer calls. */
export function readKerasModel(modelConfig: { class_name?: string; config?: unknown }): KerasModel {
  const cls = modelConfig.class_name;
  if (cls === 'Sequential') return sequential(modelConfig.config);
  if (cls === 'Model' || cls === 'Functional') return functional(modelConfig.config as FunctionalConfig);
  throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `the layers model's class is ${String(cls)}; only Model, Functional and Sequential are read`);
}

interface FunctionalConfig {
  layers: KerasLayerJson[];
  input_layers: unknown[];
  output_layers: unknown[];
}

function layerName(l: KerasLayerJson): string {
  const n = l.name ?? (l.config?.name as string | undefined);
  if (typeof n !== 'string') throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `a ${l.class_name} layer has no name`);
  return n;
}

/** `[name, node, tensor]` or a list of them (Keras writes one bare triple when a model has one input). */
function refList(v: unknown): [string, number, number][] {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === 'string') return [[v[0], Number(v[1] ?? 0), Number(v[2] ?? 0)]];
  return v.map((r) => {
    const a = r as unknown[];
    return [String(a[0]), Number(a[1] ?? 0), Number(a[2] ?? 0)];
  });
}

function functional(config: FunctionalConfig): KerasModel {
  if (!config || !Array.isArray(config.layers)) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', 'the model config has no layers');
  const pending: LayerCall[] = [];
  const inputs: KerasInput[] = [];
  for (const l of config.layers) {
    const name = layerName(l);
    const nodes = Array.isArray(l.inbound_nodes) ? l.inbound_nodes : [];
    if (l.class_name === 'InputLayer') {
      pending.push({ name, className: l.class_name, config: l.config ?? {}, nodeIndex: 0, callCount: 1, inputs: [], output: tensorKey(name) });
      continue;
    }
    // A layer in the config that the model never calls has nothing to convert.
    nodes.forEach((node, nodeIndex) => {
      const ins = inboundRefs(node, name).map(([n, ni, ti]) => tensorKey(n, ni, ti));
      pending.push({ name, className: l.class_name, config: l.config ?? {}, nodeIndex, callCount: nodes.length, inputs: ins, output: tensorKey(name, nodeIndex) });
    });
  }
  for (const [name, ni, ti] of refList(config.input_layers)) {
    const call = pending.find((c) => c.name === name);
    if (!call) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `the model's input layer ${name} is not among its layers`);
    inputs.push(inputOf(call, tensorKey(name, ni, ti)));
  }
  const outputs = refList(config.output_layers).map(([n, ni, ti]) => tensorKey(n, ni, ti));
  return finish(order(pending), inputs, outputs);
}

/** One inbound node's inputs: Keras 2 writes `[[layer, node, tensor, kwargs], ...]`. */
function inboundRefs(node: unknown, consumer: string): [string, number, number][] {
  if (Array.isArray(node) && node.every((r) => Array.isArray(r) && typeof r[0] === 'string')) {
    return node.map((r: unknown[]) => [r[0] as string, Number(r[1] ?? 0), Number(r[2] ?? 0)]);
  }
  throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `cannot read the inbound nodes of layer ${consumer} (only the Keras 2 form that TF.js writes is read)`);
}

function sequential(config: unknown): KerasModel {
  const layers = (Array.isArray(config) ? config : (config as { layers?: unknown })?.layers) as KerasLayerJson[] | undefined;
  if (!Array.isArray(layers) || layers.length === 0) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', 'the Sequential model has no layers');
  const calls: LayerCall[] = [];
  const first = layers[0]!;
  let prev: string;
  let input: KerasInput;
  if (first.class_name === 'InputLayer') {
    const name = layerName(first);
    calls.push({ name, className: 'InputLayer', config: first.config ?? {}, nodeIndex: 0, callCount: 1, inputs: [], output: tensorKey(name) });
    input = inputOf(calls[0]!, tensorKey(name));
    prev = input.key;
  } else {
    // Keras (and TF.js) name a Sequential model's implicit input after its first layer.
    const name = `${layerName(first)}_input`;
    const c = first.config ?? {};
    calls.push({ name, className: 'InputLayer', config: { batch_input_shape: c.batch_input_shape ?? batchOf(c.input_shape), dtype: c.dtype ?? 'float32' }, nodeIndex: 0, callCount: 1, inputs: [], output: tensorKey(name) });
    input = inputOf(calls[0]!, tensorKey(name));
    prev = input.key;
  }
  for (const l of layers) {
    if (l.class_name === 'InputLayer') continue;
    const name = layerName(l);
    calls.push({ name, className: l.class_name, config: l.config ?? {}, nodeIndex: 0, callCount: 1, inputs: [prev], output: tensorKey(name) });
    prev = tensorKey(name);
  }
  return finish(calls, [input], [prev]);
}

function batchOf(shape: unknown): unknown {
  return Array.isArray(shape) ? [null, ...shape] : undefined;
}

function inputOf(call: LayerCall, key: string): KerasInput {
  const c = call.config;
  const raw = (c.batch_input_shape ?? c.batch_shape ?? batchOf(c.input_shape)) as (number | null)[] | undefined;
  return {
    name: call.name,
    key,
    dtype: typeof c.dtype === 'string' ? c.dtype : 'float32',
    shape: Array.isArray(raw) ? raw.map((d) => (typeof d === 'number' ? d : -1)) : undefined,
  };
}

/** Orders calls so that each follows the calls producing its inputs (Keras usually writes them so already). */
function order(pending: LayerCall[]): LayerCall[] {
  const produced = new Set<string>();
  const out: LayerCall[] = [];
  let rest = pending;
  while (rest.length > 0) {
    const next: LayerCall[] = [];
    for (const c of rest) {
      if (c.inputs.every((i) => produced.has(i))) {
        out.push(c);
        produced.add(c.output);
      } else next.push(c);
    }
    if (next.length === rest.length) {
      const c = next[0]!;
      const missing = c.inputs.filter((i) => !produced.has(i));
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `layer ${c.name} reads ${missing.join(', ')}, which no layer produces (or the layers form a cycle)`);
    }
    rest = next;
  }
  return out;
}

function finish(calls: LayerCall[], inputs: KerasInput[], outputs: string[]): KerasModel {
  const layers = new Map<string, LayerCall>();
  for (const c of calls) if (!layers.has(c.name) || c.nodeIndex < layers.get(c.name)!.nodeIndex) layers.set(c.name, c);
  for (const o of outputs) {
    if (!calls.some((c) => c.output === o)) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `the model's output ${o} is not produced by any layer`);
  }
  return { calls, inputs, outputs, layers };
}
