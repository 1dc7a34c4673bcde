/** A JSON object (not an array, not null): what every reader of untrusted JSON checks before reading fields. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
