#!/usr/bin/env node
import { main, reportError } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
