#!/usr/bin/env node
// The `loupe` process entry: the only place that reads argv and sets the exit code.
import { main, reportError } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  async (err: unknown) => {
    process.exitCode = await reportError(err);
  },
);
