/** The models.* methods of the contract, and the active model that indexing, search and tuning use. */
import { KestrelError, type Handlers, type Settings } from '../../contract/index.js';
import type { EventBus } from '../events.js';
import type { SettingsStore } from '../settings/index.js';
import type { ModelImports } from './imports.js';
import type { ModelLibrary } from './library.js';
import type { PreprocessSpec } from './preprocess.js';
import type { ModelRuntime } from './runtime.js';

/** The model a search or an index job uses, with its runtime. */
export interface ActiveModel {
  id: string;
  runtime: ModelRuntime;
  embedder: ModelRuntime;
  spec: PreprocessSpec;
  dim: number;
}

interface ActiveModelDeps {
  models: ModelLibrary;
  settings: { get(): Settings };
}

/** The model for an index job or a search: the active pack (a named one must be the active one). */
export function activeModelOf(deps: ActiveModelDeps): (requested?: string) => Promise<ActiveModel> {
  const { models, settings } = deps;
  return async (requested) => {
    const active = settings.get().activeModel;
    if (requested !== undefined && requested !== active) {
      throw new KestrelError({ code: 'invalid_input', message: `The model pack "${requested}" is not the active one${active ? ` ("${active}")` : ''}.`, hint: 'Activate it first (models.activate).' });
    }
    const runtime = await models.ready();
    const status = runtime.status().model;
    if (!active || !status) throw new KestrelError({ code: 'unavailable', message: 'No model pack is active.', hint: 'Activate a model pack first.' });
    const manifest = models.manifestOf(status.pack.dir);
    return { id: active, runtime, embedder: runtime, spec: manifest.image, dim: manifest.embeddingSize };
  };
}

export interface ModelHandlerDeps {
  models: ModelLibrary;
  imports: ModelImports;
  events: EventBus;
  /** Activating a pack saves it as the active one. */
  settings: Pick<SettingsStore, 'set'>;
}

export function modelHandlers(deps: ModelHandlerDeps): Pick<Handlers, 'models.list' | 'models.status' | 'models.activate' | 'models.import' | 'models.importCancel' | 'models.imports'> {
  const { models, imports, events, settings } = deps;
  return {
    'models.list': () => models.list(),
    'models.status': () => models.status(),
    'models.activate': async ({ id }) => {
      const status = await models.activate(id);
      events.emit('settings.changed', await settings.set({ activeModel: id }));
      return status;
    },
    'models.import': (input) => imports.start(input),
    'models.importCancel': ({ jobId }) => imports.cancel(jobId),
    'models.imports': () => imports.list(),
  };
}
