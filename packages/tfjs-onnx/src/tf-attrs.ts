import type { TfjsAttr } from './tfjs-model.js';

/** Readers of a TF node's attributes as TF.js model.json stores them (strings base64, ints as strings). */

export function b64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

export function attrS(a: TfjsAttr | undefined): string | undefined {
  return a?.s === undefined ? undefined : b64(a.s);
}

export function attrF(a: TfjsAttr | undefined, fallback: number): number {
  return a?.f ?? fallback;
}

export function attrI(a: TfjsAttr | undefined, fallback = 0): number {
  return a?.i === undefined ? fallback : Number(a.i);
}

export function attrInts(a: TfjsAttr | undefined): number[] {
  return (a?.list?.i ?? []).map(Number);
}
