import { mkdir } from 'node:fs/promises';
import type { AppInfo, Handlers, Notice } from '../contract/index.js';
import { KestrelError } from '../contract/index.js';
import { Catalog } from './catalog/index.js';
import { EventBus } from './events.js';
import { packageInfo } from './platform/paths.js';
import { listExecutionProviders } from './platform/providers.js';
import { SettingsStore } from './settings/index.js';
import { ModelLibrary, type ModelRuntimeOptions } from './model/index.js';
import { TileService } from './raster/index.js';
import type { Asset } from './host-protocol.js';

export interface EngineOptions {
  /** The data folder (catalog, settings, vectors, adapters). Created if missing. */
  dataDir: string;
  /** How the engine is reached, reported by app.info. */
  runtime: AppInfo['runtime'];
  /** How the inference worker is started; defaults to a Node child process. */
  spawnInference?: ModelRuntimeOptions['spawn'];
  /** Load the active model pack at start (default true; one-shot CLI commands that need no model say false). */
  loadModel?: boolean;
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
  /** Installed model packs and the active one's runtime (embeddings for indexing and search). */
  readonly models: ModelLibrary;
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
  const models = new ModelLibrary({
    dataDir,
    preference: () => settings.get().executionProvider,
    onStatus: (status) => events.emit('models.statusChanged', status),
    ...(options.spawnInference ? { spawn: options.spawnInference } : {}),
  });
  // Warm the active model up now, in the background, so the first query does not wait for it.
  const active = settings.get().activeModel;
  if (active && options.loadModel !== false) {
    models.activate(active).catch((err: unknown) => {
      notices.push({ level: 'warning', message: `The active model pack "${active}" could not be loaded: ${(err as Error).message}` });
    });
  }
  const tiles = new TileService();

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
      const before = settings.get();
      const next = await settings.set(patch);
      events.emit('settings.changed', next);
      // A new provider preference applies to the loaded model at once.
      if (next.executionProvider !== before.executionProvider && next.activeModel) await models.activate(next.activeModel);
      return next;
    },
    'archives.list': () => catalog.listArchives(),
    'models.list': () => models.list(),
    'models.status': () => models.status(),
    'models.activate': async ({ id }) => {
      const status = await models.activate(id);
      events.emit('settings.changed', await settings.set({ activeModel: id }));
      return status;
    },
  };

  return {
    handlers,
    events,
    dataDir,
    // Scenes are registered with the tile service as archives are scanned (the index issue); until
    // then no id resolves and every tile is a 404.
    tile: (sceneId, z, x, y) => tiles.tile(sceneId, z, x, y),
    // Chip thumbnails arrive with the index (chip ids); no id resolves yet.
    thumb: async () => undefined,
    models,
    async close() {
      await Promise.allSettled([models.close(), tiles.close()]);
    },
  };
}
