/** The index.* methods of the contract: indexing jobs of (archive, active model). */
import type { Handlers } from '../../contract/index.js';
import { knownArchive, type Catalog } from '../catalog/index.js';
import type { IndexJobs, IndexModel } from './index.js';

export interface IndexHandlerDeps {
  catalog: Catalog;
  jobs: IndexJobs;
  /** The model to index with: the active pack (a named one must be the active one). */
  activeModel(requested?: string): Promise<IndexModel>;
}

export function indexHandlers(deps: IndexHandlerDeps): Pick<Handlers, 'index.start' | 'index.resume' | 'index.pause' | 'index.cancel' | 'index.status'> {
  const { catalog, jobs, activeModel } = deps;
  return {
    'index.start': async ({ archiveId, model, reindex }) => (await jobs.start(knownArchive(catalog, archiveId), await activeModel(model), { reindex: reindex === true })).status,
    'index.resume': async ({ archiveId, model }) => (await jobs.start(knownArchive(catalog, archiveId), await activeModel(model))).status,
    'index.pause': ({ archiveId, model }) => jobs.pause(archiveId, model),
    'index.cancel': ({ archiveId, model }) => jobs.cancel(archiveId, model),
    'index.status': ({ archiveId }) => jobs.list(archiveId),
  };
}
