/** The archives.* methods of the contract: adding, scanning and removing archives, and their scenes. */
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { KestrelError, type Handlers, type SceneInfo } from '../../contract/index.js';
import { knownArchive, type Catalog } from '../catalog/index.js';
import type { EventBus } from '../events.js';
import { newArchiveId, readArchive, validateRoots } from './index.js';
import type { ScanRegistry } from './scans.js';

export type ArchiveHandlers = Pick<
  Handlers,
  'archives.list' | 'archives.add' | 'archives.scan' | 'archives.cancelScan' | 'archives.pauseScan' | 'archives.resumeScan' | 'archives.remove' | 'archives.scenes'
>;

export interface ArchiveHandlerDeps {
  dataDir: string;
  catalog: Catalog;
  scans: ScanRegistry;
  events: EventBus;
  /** The scenes on the map: a rescan forgets the ones it changed, a removal all of the archive's. */
  sceneTiles: { forget(sceneId: string): void; forgetChanged(archiveId: string): Promise<void> };
  /** What else holds an archive and lets go of it when it is removed (in this order after the scan stops). */
  jobs: { isRunning(archiveId: string): boolean; cancel(archiveId: string): Promise<unknown> };
  tuning: { cancel(archiveId: string): Promise<void> };
  journal: { remove(archiveId: string): Promise<void> };
}

function sceneInfos(scenes: Awaited<ReturnType<Catalog['scenes']>>): SceneInfo[] {
  return scenes.map(
    (s): SceneInfo => ({
      id: s.id,
      archiveId: s.archiveId,
      path: s.path,
      status: s.status,
      error: s.error,
      width: s.summary?.width ?? null,
      height: s.summary?.height ?? null,
      bands: s.summary?.bands ?? null,
      epsg: s.summary?.epsg ?? null,
      footprint: s.summary?.footprint ?? null,
    }),
  );
}

export function archiveHandlers(deps: ArchiveHandlerDeps): ArchiveHandlers {
  const { dataDir, catalog, scans, events, sceneTiles, jobs } = deps;
  return {
    'archives.list': () => catalog.listArchives(),
    'archives.add': async ({ roots, excludes, name }) => {
      const valid = await validateRoots(roots);
      // The id exists from the start (progress events carry it, archives.cancelScan takes it); the
      // archive enters the catalog only with its scenes, so a cancelled add leaves nothing.
      const archive = { id: newArchiveId(valid), name: name ?? basename(valid[0]!), roots: valid, excludes: excludes ?? [], addedAt: new Date().toISOString() };
      const scan = await scans.run(
        archive,
        (opts) => readArchive(archive, [], opts),
        async ({ scenes, summary, problems }) => {
          await catalog.setScenes(archive.id, scenes);
          await catalog.addArchive({ ...archive, sceneCount: scenes.filter((s) => s.status === 'ok').length, lastScan: summary });
          return { archiveId: archive.id, ...summary, problems };
        },
      );
      events.emit('archives.scanned', scan);
      return { archive: catalog.listArchives().find((a) => a.id === archive.id)!, scan };
    },
    'archives.scan': async ({ id }) => {
      const archive = catalog.archive(knownArchive(catalog, id))!;
      // Read first, write once: a cancelled rescan leaves the catalog as it was.
      const scan = await scans.run(
        archive,
        async (opts) => readArchive(archive, await catalog.scenes(id), opts),
        async ({ scenes, summary, problems }) => {
          await catalog.setScenes(id, scenes);
          await catalog.updateArchive(id, { lastScan: summary });
          return { archiveId: id, ...summary, problems };
        },
      );
      await sceneTiles.forgetChanged(id);
      events.emit('archives.scanned', scan);
      return scan;
    },
    'archives.cancelScan': ({ id }) => ({ cancelled: scans.cancel(id) }),
    'archives.pauseScan': ({ id }) => ({ paused: scans.pause(id) }),
    'archives.resumeScan': ({ id }) => ({ resumed: scans.resume(id) }),
    'archives.remove': async ({ id }) => {
      if (!catalog.archive(id)) return { removed: false };
      scans.cancel(id);
      await scans.settled(id);
      if (jobs.isRunning(id)) await jobs.cancel(id);
      await deps.tuning.cancel(id);
      for (const scene of await catalog.scenes(id)) sceneTiles.forget(scene.id);
      await catalog.removeArchive(id);
      await rm(join(dataDir, 'vectors', id), { recursive: true, force: true });
      await deps.journal.remove(id);
      return { removed: true };
    },
    'archives.scenes': async ({ id }) => {
      if (!catalog.archive(id)) throw new KestrelError({ code: 'not_found', message: `There is no archive ${id}.` });
      return sceneInfos(await catalog.scenes(id));
    },
  };
}
