/** The settings.* and view.* methods of the contract. */
import type { Handlers } from '../../contract/index.js';
import { openBasemap, type BasemapService } from '../basemap/index.js';
import type { EventBus } from '../events.js';
import type { SettingsStore, ViewStore } from './index.js';

export interface SettingsHandlerDeps {
  settings: SettingsStore;
  view: ViewStore;
  events: EventBus;
  basemap: BasemapService;
  /** The model library: a new provider preference reloads the active model. */
  models: { activate(id: string): Promise<unknown> };
}

export function settingsHandlers(deps: SettingsHandlerDeps): Pick<Handlers, 'settings.get' | 'settings.set' | 'view.get' | 'view.set'> {
  const { settings, view, events, basemap, models } = deps;
  return {
    'settings.get': () => settings.get(),
    'settings.set': async (patch) => {
      const before = settings.get();
      // A basemap is opened before it is saved: one that cannot serve tiles is refused, naming the file.
      const opened = patch.basemap ? await openBasemap(patch.basemap) : undefined;
      let next;
      try {
        next = await settings.set(patch);
      } catch (err) {
        opened?.close();
        throw err;
      }
      if (patch.basemap !== undefined) basemap.replace(next.basemap, opened);
      events.emit('settings.changed', next);
      // A new provider preference applies to the loaded model at once.
      if (next.executionProvider !== before.executionProvider && next.activeModel) await models.activate(next.activeModel);
      return next;
    },
    'view.get': () => view.get(),
    'view.set': (patch) => view.set(patch),
  };
}
