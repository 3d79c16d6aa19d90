#!/usr/bin/env node
// `npm run setup`: install, fetch Electron's binary if its host is reachable, build.
// Plain Node with no dependencies: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd, args, env = {}, timeoutMs, quiet = false) {
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: quiet ? 'pipe' : 'inherit',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    shell: process.platform === 'win32',
  });
  if (quiet && result.status !== 0) {
    const why = String(result.stderr ?? '').split('\n').find((l) => /Error|ENOTFOUND|ECONN|EAI_AGAIN/.test(l));
    if (why) console.error(`  (${why.trim()})`);
  }
  return result.status === 0 && !result.error;
}

console.error('kestrel setup: installing packages (npm ci)…');
// Electron's own postinstall download and onnxruntime-node's CUDA download both need hosts outside
// the npm registry; skip them here (npm 11 also refuses unapproved install scripts, see
// allowScripts in package.json) and fetch Electron explicitly below, where a failure is not fatal.
const installEnv = { ELECTRON_SKIP_BINARY_DOWNLOAD: '1', npm_config_onnxruntime_node_install: 'skip' };
const lock = existsSync(join(root, 'package-lock.json'));
if (!run(npm, [lock ? 'ci' : 'install', '--no-audit', '--no-fund'], installEnv)) {
  console.error('kestrel setup: npm install failed (see above).');
  process.exit(1);
}

console.error("kestrel setup: fetching Electron's binary for the desktop app…");
const electronDir = join(root, 'node_modules', 'electron');
const fetched = run(process.execPath, [join(electronDir, 'install.js')], { ELECTRON_SKIP_BINARY_DOWNLOAD: '' }, 300_000, true);
if (fetched && existsSync(join(electronDir, 'path.txt'))) {
  console.error('kestrel setup: Electron is installed; `npm start` opens the desktop app.');
} else {
  console.error(
    "kestrel setup: Electron's binary could not be downloaded (its release host is not reachable from here).\n" +
      '  Everything else works: `npm start` serves the same UI to your browser and prints its URL.\n' +
      '  Run `npm run setup` again on a machine that can reach the host to get the desktop window.',
  );
}

console.error('kestrel setup: building…');
if (!run(npm, ['run', 'build'])) {
  console.error('kestrel setup: the build failed (see above).');
  process.exit(1);
}
console.error('kestrel setup: done. Next: `npm start` (the app) or `npm test` (the tests).');
