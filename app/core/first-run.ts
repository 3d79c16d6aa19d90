/**
 * The first run: a new data folder opens on the demo archive with the starter model active, so a new
 * user can search real imagery offline at once. It goes through the contract's own handlers, as a
 * user would: activate the starter pack, add the demo folder, start indexing (progress events
 * follow). Runs once per data folder; a failure is reported, never fatal.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Handlers, Notice } from '../contract/index.js';
import { resourcesDir } from './model/index.js';

export const STARTER_MODEL_ID = 'starter';

export function demoArchiveDir(): string {
  return join(resourcesDir(), 'demo');
}

export async function firstRun(handlers: Handlers, notices: Notice[]): Promise<void> {
  const demo = demoArchiveDir();
  const packs = await handlers['models.list']({});
  if (packs.some((p) => p.id === STARTER_MODEL_ID && !p.problem)) await handlers['models.activate']({ id: STARTER_MODEL_ID });
  if (!existsSync(join(demo, 'manifest.json'))) return;
  try {
    const { archive } = await handlers['archives.add']({ roots: [demo], excludes: ['licences/**'], name: 'Demo archive' });
    await handlers['index.start']({ archiveId: archive.id });
  } catch (err) {
    notices.push({ level: 'warning', message: `The demo archive could not be prepared: ${(err as Error).message}`, file: demo });
  }
}
