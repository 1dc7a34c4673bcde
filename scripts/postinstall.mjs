// Runs after `pnpm install`: makes the offline model pack ready (`loupe models prepare`), with no
// network: the ISNet chunks are joined and the TF.js models (objects, faces, image features) are
// converted to ONNX into the models cache (LOUPE_MODELS_DIR, default ~/.local/share/loupe/models).
// It runs from the TypeScript sources, so nothing has to be built first. A failure does not fail
// the install: every model is also prepared on first use, and the message says how to retry.
// LOUPE_SKIP_MODEL_PREPARE=1 skips it (e.g. a build image whose data folder is a volume).
import { spawnSync } from 'node:child_process';

if (process.env.LOUPE_SKIP_MODEL_PREPARE === '1') {
  console.log('loupe: offline model pack not prepared (LOUPE_SKIP_MODEL_PREPARE=1); it is prepared on first use');
  process.exit(0);
}
const started = Date.now();
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--conditions=loupe-source', 'packages/cli/src/cli.ts', 'models', 'prepare'],
  { stdio: 'inherit', env: { ...process.env, LOUPE_LOG_LEVEL: process.env.LOUPE_LOG_LEVEL ?? 'warn' } },
);
if (run.status === 0) {
  console.log(`loupe: offline model pack ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} else {
  console.warn('loupe: the offline model pack could not be prepared now (see above); models are prepared on first use, or run: pnpm run models:prepare');
}
