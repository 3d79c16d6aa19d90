import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { packageInfo } from '../platform/index.js';

/** Overrides where the shipped resources are found (tests, unusual installs). */
export const RESOURCES_ENV = 'KESTREL_RESOURCES';

/**
 * The folder of shipped resources: beside app.asar in an installed app (electron-builder
 * `extraResources`), the repository's resources/ in development, the CLI and tests.
 */
export function resourcesDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[RESOURCES_ENV];
  if (override) return override;
  const electronResources = (process as { resourcesPath?: string }).resourcesPath;
  if (electronResources) {
    const packaged = join(electronResources, 'resources');
    if (existsSync(packaged)) return packaged;
  }
  const root = packageInfo().root;
  // Installed: the package is …/resources/app.asar and extraResources sit in …/resources/resources.
  if (basename(root) === 'app.asar') return join(dirname(root), 'resources');
  return join(root, 'resources');
}

/** The CLIP BPE vocabulary shipped with Kestrel (from the open_clip_torch wheel; MIT). */
export function clipVocabularyPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(resourcesDir(env), 'tokenizer', 'bpe_simple_vocab_16e6.txt.gz');
}
