import { LoupeError } from '@loupe/contracts/core';

/** A numeric command-line option, or undefined when absent; anything else is a clear LOUPE_ERR_VALIDATION. */
export function numberOption(name: string, raw: string | undefined, integer: boolean, range?: { min?: number; max?: number }): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const min = range?.min ?? -Infinity;
  const max = range?.max ?? Infinity;
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    const bounds = range ? ` from ${range.min ?? '-∞'} to ${range.max ?? '∞'}` : '';
    throw new LoupeError('LOUPE_ERR_VALIDATION', `--${name} must be ${integer ? 'an integer' : 'a number'}${bounds}; got ${JSON.stringify(raw)}`);
  }
  return n;
}
