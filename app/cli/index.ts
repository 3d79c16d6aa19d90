#!/usr/bin/env node
import { runCli } from './main.js';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('kestrel: unexpected failure:', err);
    process.exitCode = 1;
  },
);
