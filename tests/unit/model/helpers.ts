import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(ROOT, 'tests', 'fixtures', 'model');
export const SHARED = resolve(ROOT, '..', 'shared');
export const SHARED_DATA = join(SHARED, 'data');
export const hasSharedData = existsSync(SHARED_DATA);
export const SHARED_MISSING = `../shared/data is missing (looked in ${SHARED_DATA}); tests on real data are skipped`;

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
