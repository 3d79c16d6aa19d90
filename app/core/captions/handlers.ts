/** The captions.* methods of the contract: the caption journal, the caption bank and the annotation walk. */
import { KestrelError, type CaptionInfo, type Handlers } from '../../contract/index.js';
import { knownArchive, type Catalog, type SceneRecord } from '../catalog/index.js';
import type { EventBus } from '../events.js';
import type { ModelRuntime } from '../model/index.js';
import type { SearchService } from '../search/index.js';
import type { CaptionBank } from './bank.js';
import { CaptionJournal, type CaptionState, type CaptionTarget } from './journal.js';
import { annotationQueue } from './walk.js';

export type CaptionHandlers = Pick<
  Handlers,
  'captions.list' | 'captions.add' | 'captions.edit' | 'captions.delete' | 'captions.undo' | 'captions.history' | 'captions.queue' | 'captions.importBank'
>;

export interface CaptionHandlerDeps {
  catalog: Catalog;
  search: Pick<SearchService, 'locate' | 'chipRows' | 'hitsOf' | 'rowVectors'>;
  events: EventBus;
  journal: CaptionJournal;
  bank: CaptionBank;
  activeModel(): Promise<{ id: string; runtime: ModelRuntime; dim: number }>;
}

export function captionInfo(s: CaptionState): CaptionInfo {
  return {
    id: s.id,
    archiveId: s.archiveId,
    sceneId: s.target.sceneId,
    chipId: 'chipId' in s.target ? s.target.chipId : null,
    text: s.text,
    provenance: s.provenance,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    changes: s.history.length,
  };
}

async function sceneArchive(catalog: Catalog, sceneId: string, archiveId?: string): Promise<{ archiveId: string; scene: SceneRecord }> {
  const ids = archiveId !== undefined ? [knownArchive(catalog, archiveId)] : catalog.archives().map((a) => a.id);
  for (const id of ids) {
    const scene = (await catalog.scenes(id)).find((s) => s.id === sceneId);
    if (scene) return { archiveId: id, scene };
  }
  throw new KestrelError({ code: 'not_found', message: `There is no scene ${sceneId}.`, hint: 'archives.scenes lists an archive’s scenes.' });
}

/** The archive a caption id names, which must still exist. */
function captionArchive(catalog: Catalog, id: string): string {
  const archiveId = CaptionJournal.archiveOf(id);
  if (!archiveId || !catalog.archive(archiveId)) throw new KestrelError({ code: 'not_found', message: `There is no caption ${id}.` });
  return archiveId;
}

export function captionHandlers(deps: CaptionHandlerDeps): CaptionHandlers {
  const { catalog, journal, events, search, bank } = deps;
  const changed = (archiveId: string, op: 'add' | 'edit' | 'delete' | 'undo', s: CaptionState): CaptionInfo => {
    const info = captionInfo(s);
    events.emit('captions.changed', { archiveId, op, caption: info, count: 1 });
    return info;
  };
  return {
    'captions.list': async ({ archiveId, sceneId, chipId }) => {
      if (chipId !== undefined) {
        const a = chipId.split('-')[0]!;
        if (!catalog.archive(a) || (archiveId !== undefined && archiveId !== a)) return [];
        return (await journal.list(a, { chipId })).map(captionInfo);
      }
      if (sceneId !== undefined) {
        const at = await sceneArchive(catalog, sceneId, archiveId);
        return (await journal.list(at.archiveId, { sceneId })).map(captionInfo);
      }
      const ids = archiveId !== undefined ? [knownArchive(catalog, archiveId)] : catalog.archives().map((a) => a.id);
      const out: CaptionInfo[] = [];
      for (const id of ids) out.push(...(await journal.list(id)).map(captionInfo));
      return out;
    },
    'captions.add': async ({ target, text, provenance }) => {
      let archiveId: string;
      let t: CaptionTarget;
      if ('chipId' in target) {
        const at = await search.locate(target.chipId);
        if (!at) throw new KestrelError({ code: 'not_found', message: `There is no chip ${target.chipId}.`, hint: 'Chip ids come from search results.' });
        archiveId = at.scene.archiveId;
        t = { chipId: target.chipId, sceneId: at.scene.id };
      } else {
        const at = await sceneArchive(catalog, target.sceneId, target.archiveId);
        archiveId = at.archiveId;
        t = { sceneId: target.sceneId };
      }
      const [s] = await journal.add(archiveId, [{ target: t, text, provenance: provenance ?? 'person', who: 'person' }]);
      return changed(archiveId, 'add', s!);
    },
    'captions.edit': async ({ id, text }) => {
      const a = captionArchive(catalog, id);
      return changed(a, 'edit', await journal.edit(a, id, text));
    },
    'captions.delete': async ({ id }) => {
      const a = captionArchive(catalog, id);
      return changed(a, 'delete', await journal.delete(a, id));
    },
    'captions.undo': async ({ id }) => {
      const a = captionArchive(catalog, id);
      return changed(a, 'undo', await journal.undo(a, id));
    },
    'captions.history': async ({ id }) => {
      const a = captionArchive(catalog, id);
      const s = await journal.get(a, id);
      if (!s) throw new KestrelError({ code: 'not_found', message: `There is no caption ${id}.` });
      return { caption: captionInfo(s), changes: s.history.map(({ seq, op, who, at, before, after }) => ({ seq, op, who, at, before, after })) };
    },
    'captions.queue': async (input) => {
      knownArchive(catalog, input.archiveId);
      const model = await deps.activeModel();
      return annotationQueue({ search, bank, journal, model }, input);
    },
    'captions.importBank': ({ file }) => bank.import(file),
  };
}
