/**
 * The optional local basemap: a folder of XYZ tiles or an MBTiles file, set in the settings. Opened
 * lazily (the first info or tile), reopened when the setting changes, closed with the engine.
 */
import { randomBytes } from 'node:crypto';
import type { BasemapInfo, BasemapSetting } from '../../contract/index.js';
import type { Asset } from '../host-protocol.js';
import { validAddress, type BasemapSource } from './common.js';
import { openMbtiles } from './mbtiles.js';
import { openXyz } from './xyz.js';

export { validAddress, type BasemapSource } from './common.js';

/** Opens (and so checks) a basemap setting: a KestrelError naming the file and what to do when it cannot serve tiles. */
export function openBasemap(setting: BasemapSetting): Promise<BasemapSource> {
  return setting.kind === 'mbtiles' ? openMbtiles(setting.file) : openXyz(setting.folder);
}

interface Opened {
  source: BasemapSource;
  info: BasemapInfo;
}

export class BasemapService {
  private opened: Promise<Opened> | undefined;
  private closed = false;

  constructor(private setting: BasemapSetting | null) {}

  /**
   * Switches to another setting. `source`, when given, is that setting already opened (settings.set
   * opens it to check it); otherwise it is opened on first use.
   */
  replace(setting: BasemapSetting | null, source?: BasemapSource): void {
    this.release();
    this.setting = setting;
    if (setting && source) this.opened = Promise.resolve(withVersion(source));
  }

  /** The basemap's description; null when there is none. Throws when the set basemap cannot be opened. */
  async info(): Promise<BasemapInfo | null> {
    return (await this.open())?.info ?? null;
  }

  /**
   * The tile at an XYZ address: undefined when there is no basemap, no such address, or no tile
   * there. A basemap that can no longer be opened serves nothing (basemap.info says why).
   */
  async tile(z: number, x: number, y: number): Promise<Asset | undefined> {
    if (!validAddress(z, x, y)) return undefined;
    const opened = await this.open().catch(() => undefined);
    if (!opened || z < opened.info.minZoom || z > opened.info.maxZoom) return undefined;
    return opened.source.tile(z, x, y);
  }

  /** Whether a basemap is set (whether or not it opens). */
  get configured(): boolean {
    return this.setting !== null && !this.closed;
  }

  close(): void {
    this.closed = true;
    this.release();
  }

  private open(): Promise<Opened | undefined> {
    if (!this.setting || this.closed) return Promise.resolve(undefined);
    if (!this.opened) {
      const opening = openBasemap(this.setting).then(withVersion);
      // A failed open is retried on the next call (the user may fix the file).
      opening.catch(() => {
        if (this.opened === opening) this.opened = undefined;
      });
      this.opened = opening;
    }
    return this.opened;
  }

  private release(): void {
    const previous = this.opened;
    this.opened = undefined;
    void previous?.then(({ source }) => source.close(), () => undefined);
  }
}

function withVersion(source: BasemapSource): Opened {
  return { source, info: { ...source.info, version: randomBytes(6).toString('hex') } };
}
export { basemapHandlers } from './handlers.js';
