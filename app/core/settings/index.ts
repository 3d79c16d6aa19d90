import { Settings, type Notice, type SettingsPatch } from '../../contract/index.js';
import { openJsonStore } from '../catalog/json-store.js';
import type { Low } from 'lowdb';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  searchTopK: 50,
  executionProvider: 'auto',
  welcomeDismissed: false,
  activeModel: null,
  basemap: null,
};

const FILE = 'settings.json';

/** User settings, one small lowdb document beside the catalog. */
export class SettingsStore {
  private constructor(
    private readonly db: Low<Record<string, unknown>>,
    readonly notices: Notice[],
    /** True when this data folder had no settings yet: Kestrel's first run on it. */
    readonly created: boolean,
  ) {}

  static async open(dataDir: string): Promise<SettingsStore> {
    const created = !existsSync(join(dataDir, FILE));
    const { db, notice } = await openJsonStore<Record<string, unknown>>(dataDir, FILE, { ...DEFAULT_SETTINGS });
    const notices: Notice[] = notice ? [notice] : [];
    // Values written by an older or newer version, or edited by hand, are checked one by one: a bad
    // value falls back to its default (and the user is told) without losing the other settings.
    const stored = db.data ?? {};
    const clean: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const key of Object.keys(Settings.shape) as (keyof Settings)[]) {
      if (!(key in stored)) continue;
      const field = Settings.shape[key].safeParse(stored[key]);
      if (field.success) clean[key] = field.data;
      else
        notices.push({
          level: 'warning',
          message: `Setting "${key}" in ${FILE} had an invalid value (${JSON.stringify(stored[key])}); using the default.`,
        });
    }
    db.data = clean;
    return new SettingsStore(db, notices, created);
  }

  get(): Settings {
    return Settings.parse(this.db.data);
  }

  async set(patch: SettingsPatch | Pick<Settings, 'activeModel'>): Promise<Settings> {
    const next = Settings.parse({ ...this.db.data, ...patch });
    this.db.data = next;
    await this.db.write();
    return next;
  }
}
