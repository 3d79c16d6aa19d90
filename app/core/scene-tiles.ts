/**
 * The catalog's scenes as map tiles and chip thumbnails by catalog id (tiles://, /tiles/, thumbs://).
 * A scene is described on its first tile or thumbnail, not all at start: an archive may hold
 * thousands. Each version of a scene is registered once, a failed registration included (a broken
 * file is not read again per tile); a rescan forgets the scenes it changed or took off the map.
 */
import type { Catalog, SceneRecord } from './catalog/index.js';
import type { TileService } from './raster/index.js';

/** Scenes with a map position that were read; the others have no tiles. */
function onMap(scene: SceneRecord): boolean {
  return scene.status === 'ok' && scene.summary?.georeferenced === true;
}

export class SceneTiles {
  /** Each registered scene's version (its fingerprint hash) and its registration, settled or not. */
  private readonly registrations = new Map<string, { hash: string; done: Promise<void> }>();

  constructor(
    private readonly tiles: TileService,
    private readonly catalog: Catalog,
  ) {}

  /** Registers a scene on the map unless this version of it already is (or is being) registered. */
  ensure(scene: SceneRecord): Promise<void> {
    if (!onMap(scene)) return Promise.resolve();
    const known = this.registrations.get(scene.id);
    if (known?.hash === scene.fingerprint.hash) return known.done;
    const done = this.tiles.register(scene.path, { id: scene.id }).then(
      () => undefined,
      () => this.tiles.unregister(scene.id),
    );
    this.registrations.set(scene.id, { hash: scene.fingerprint.hash, done });
    return done;
  }

  /** Registers the scene of a tile request; the catalog is searched only for a scene not registered yet. */
  async ensureId(sceneId: string): Promise<void> {
    const known = this.registrations.get(sceneId);
    if (known) return known.done;
    for (const a of this.catalog.archives()) {
      const scene = (await this.catalog.scenes(a.id)).find((s) => s.id === sceneId);
      if (scene) return this.ensure(scene);
    }
  }

  /** After a rescan: a scene changed, off the map or not served is registered afresh on its next tile. */
  async forgetChanged(archiveId: string): Promise<void> {
    for (const scene of await this.catalog.scenes(archiveId)) {
      const current = onMap(scene) && this.registrations.get(scene.id)?.hash === scene.fingerprint.hash && this.tiles.scene(scene.id) !== undefined;
      if (!current) this.forget(scene.id);
    }
  }

  forget(sceneId: string): void {
    this.tiles.unregister(sceneId);
    this.registrations.delete(sceneId);
  }

  /** Resolves once no registration is running (before the tile service closes). */
  async settled(): Promise<void> {
    await Promise.all([...this.registrations.values()].map((r) => r.done));
  }
}
