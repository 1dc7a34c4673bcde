import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOnnxModel, type OnnxModelSpec } from '@loupe/testing';
import type { Test } from 'tap';
import { loadSession, type ModelSession } from '../session.js';

/**
 * Opens models generated in a test the way Loupe opens any model: from a file, through
 * loadSession. Files and sessions are cleaned up when the test ends.
 */
export async function generatedModels(t: Test, name: string): Promise<(spec: OnnxModelSpec) => Promise<ModelSession>> {
  const dir = await mkdtemp(join(tmpdir(), `loupe-${name}-`));
  const opened: ModelSession[] = [];
  t.teardown(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });
  return async (spec) => {
    const session = await loadSession(await writeOnnxModel(join(dir, `model-${opened.length}.onnx`), spec), { intraOpNumThreads: 1 });
    opened.push(session);
    return session;
  };
}
