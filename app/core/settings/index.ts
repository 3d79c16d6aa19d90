import { Settings, ViewState, type Notice, type SettingsPatch, type ViewStatePatch } from '../../contract/index.js';
import { openJsonStore } from '../catalog/index.js';
import type { Low } from 'lowdb';
import type { z } from 'zod';
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

export const DEFAULT_VIEW: ViewState = {
  searchHistory: [],
  lastQuery: null,
  filters: { area: null, archiveId: null, scale: 'any', topK: null },
};

/**
 * One small lowdb document beside the catalog whose fields are checked one by one: values written by
 * an older or newer version, or edited by hand, that do not fit fall back to their default (and the
 * user is told) without losing the others.
 */
async function openChecked<T extends Record<string, unknown>>(
  dataDir: string,
  file: string,
  schema: { shape: Record<string, z.ZodType> },
  defaults: T,
): Promise<{ db: Low<Record<string, unknown>>; notices: Notice[] }> {
  const { db, notice } = await openJsonStore<Record<string, unknown>>(dataDir, file, { ...defaults });
  const notices: Notice[] = notice ? [notice] : [];
  const stored = db.data ?? {};
  const clean: Record<string, unknown> = { ...defaults };
  for (const key of Object.keys(schema.shape)) {
    if (!(key in stored)) continue;
    const field = schema.shape[key]!.safeParse(stored[key]);
    if (field.success) clean[key] = field.data;
    else notices.push({ level: 'warning', message: `Setting "${key}" in ${file} had an invalid value (${JSON.stringify(stored[key])}); using the default.` });
  }
  db.data = clean;
  return { db, notices };
}

const FILE = 'settings.json';

/** User settings (settings.json). */
export class SettingsStore {
  private constructor(
    private readonly db: Low<Record<string, unknown>>,
    readonly notices: Notice[],
    /** True when this data folder had no settings yet: Kestrel's first run on it. */
    readonly created: boolean,
  ) {}

  static async open(dataDir: string): Promise<SettingsStore> {
    const created = !existsSync(join(dataDir, FILE));
    const { db, notices } = await openChecked(dataDir, FILE, Settings, DEFAULT_SETTINGS);
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

/** What the window was showing (view.json): recent queries, the last search and its filters. */
export class ViewStore {
  private constructor(
    private readonly db: Low<Record<string, unknown>>,
    readonly notices: Notice[],
  ) {}

  static async open(dataDir: string): Promise<ViewStore> {
    const { db, notices } = await openChecked(dataDir, 'view.json', ViewState, DEFAULT_VIEW);
    return new ViewStore(db, notices);
  }

  get(): ViewState {
    return ViewState.parse(this.db.data);
  }

  async set(patch: ViewStatePatch): Promise<ViewState> {
    const next = ViewState.parse({ ...this.db.data, ...patch });
    this.db.data = next;
    await this.db.write();
    return next;
  }
}
export { settingsHandlers, type SettingsHandlerDeps } from './handlers.js';
