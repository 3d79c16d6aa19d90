import { mkdir } from 'node:fs/promises';
import type { AppInfo, Handlers, Notice } from '../contract/index.js';
import { KestrelError } from '../contract/index.js';
import { Catalog } from './catalog/index.js';
import { EventBus } from './events.js';
import { packageInfo } from './platform/paths.js';
import { listExecutionProviders } from './platform/providers.js';
import { SettingsStore } from './settings/index.js';
import type { Asset } from './host-protocol.js';

export interface EngineOptions {
  /** The data folder (catalog, settings, vectors, adapters). Created if missing. */
  dataDir: string;
  /** How the engine is reached, reported by app.info. */
  runtime: AppInfo['runtime'];
}

/** The engine: every contract method implemented once, plus its event bus. */
export interface Engine {
  readonly handlers: Handlers;
  readonly events: EventBus;
  readonly dataDir: string;
  /** A map tile by opaque scene id (tiles:// and /tiles/); undefined when there is no such scene or tile. */
  tile(sceneId: string, z: number, x: number, y: number): Promise<Asset | undefined>;
  /** A chip thumbnail by opaque chip id (thumbs://); undefined when there is no such chip. */
  thumb(chipId: string): Promise<Asset | undefined>;
  close(): Promise<void>;
}

export async function openEngine(options: EngineOptions): Promise<Engine> {
  const { dataDir, runtime } = options;
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new KestrelError({
      code: 'io_error',
      message: `Cannot create the data folder: ${(err as Error).message}`,
      file: dataDir,
      hint: 'Choose a writable folder with --data or KESTREL_DATA.',
    });
  }
  const events = new EventBus();
  const [settings, catalog] = await Promise.all([SettingsStore.open(dataDir), Catalog.open(dataDir)]);
  const notices: Notice[] = [...settings.notices, ...catalog.notices];
  const { name, version } = packageInfo();

  const handlers: Handlers = {
    'app.info': () => ({
      name,
      version,
      platform: process.platform,
      arch: process.arch,
      node: process.versions.node,
      runtime,
      dataDir,
      executionProviders: listExecutionProviders(),
      notices,
    }),
    'settings.get': () => settings.get(),
    'settings.set': async (patch) => {
      const next = await settings.set(patch);
      events.emit('settings.changed', next);
      return next;
    },
    'archives.list': () => catalog.listArchives(),
  };

  return {
    handlers,
    events,
    dataDir,
    // No archive can hold scenes yet (the raster and index issues add them), so no id resolves.
    tile: async () => undefined,
    thumb: async () => undefined,
    async close() {},
  };
}
