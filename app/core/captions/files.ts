/**
 * Caption files in and out of the caption journal (the CLI's `kestrel captions import` and
 * `export`): a file is read through parseCaptions, matched to the archive's scenes by file name and
 * its captions stored; an archive's scene captions are written out in one of the formats.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { KestrelError } from '../../contract/index.js';
import { knownArchive, type Catalog } from '../catalog/index.js';
import type { EventBus } from '../events.js';
import { parseCaptions, writeCaptions, type CaptionFormat, type CaptionSet } from './formats.js';
import type { CaptionJournal, CaptionState, CaptionTarget } from './journal.js';
import { matchCaptions, type CaptionMatchReport } from './match.js';

export interface CaptionFileDeps {
  catalog: Catalog;
  journal: CaptionJournal;
  events: EventBus;
}

/** A caption file's text; a file that cannot be read is refused, naming it. */
export async function readCaptionFile(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new KestrelError({ code: err.code === 'ENOENT' ? 'not_found' : 'io_error', message: `Cannot read the caption file: ${err.message}`, file });
  });
}

export interface CaptionImportReport {
  archiveId: string;
  file: string;
  format: CaptionFormat;
  counts: CaptionMatchReport['counts'];
  /** Captions stored (provenance imported), and those left out because the scene already had them (a re-import). */
  added: number;
  duplicates: number;
  unmatchedImages: CaptionMatchReport['unmatchedImages'];
  ambiguousImages: CaptionMatchReport['ambiguousImages'];
  unmatchedArchiveFiles: string[];
}

/**
 * What the scenes already hold, as counts of (scene, text): a re-import adds nothing, while a caption
 * repeated in the file (the RSICD releases repeat captions, and the metrics count them) is kept as
 * often as it is there.
 */
async function sceneCaptionCounts(journal: CaptionJournal, archiveId: string): Promise<Map<string, number>> {
  const existing = new Map<string, number>();
  for (const c of await journal.list(archiveId)) {
    if ('chipId' in c.target) continue;
    const key = `${c.target.sceneId}\0${c.text}`;
    existing.set(key, (existing.get(key) ?? 0) + 1);
  }
  return existing;
}

/** Reads a caption file, matches it to the archive's scenes by file name, and stores the matched captions. */
export async function importCaptionFile(deps: Pick<CaptionFileDeps, 'catalog' | 'journal' | 'events'>, archiveId: string, file: string): Promise<CaptionImportReport> {
  knownArchive(deps.catalog, archiveId);
  const set = parseCaptions(await readCaptionFile(file), file);
  const scenes = await deps.catalog.scenes(archiveId);
  const byPath = new Map(scenes.map((s) => [s.path, s]));
  const report = matchCaptions(set, scenes.map((s) => s.path));
  const existing = await sceneCaptionCounts(deps.journal, archiveId);
  const items: { target: CaptionTarget; text: string; provenance: 'imported'; who: 'imported' }[] = [];
  let duplicates = 0;
  for (const m of report.matched) {
    const scene = byPath.get(m.archiveFile)!;
    for (const c of set.images[m.image]!.captions) {
      const key = `${scene.id}\0${c.text}`;
      const left = existing.get(key) ?? 0;
      if (left > 0) {
        existing.set(key, left - 1);
        duplicates++;
        continue;
      }
      items.push({ target: { sceneId: scene.id }, text: c.text, provenance: 'imported', who: 'imported' });
    }
  }
  await deps.journal.add(archiveId, items);
  if (items.length > 0) deps.events.emit('captions.changed', { archiveId, op: 'import', caption: null, count: items.length });
  return {
    archiveId,
    file,
    format: set.format,
    counts: report.counts,
    added: items.length,
    duplicates,
    unmatchedImages: report.unmatchedImages,
    ambiguousImages: report.ambiguousImages,
    unmatchedArchiveFiles: report.unmatchedArchiveFiles,
  };
}

/**
 * Writes an archive's scene captions as a caption file: one image per captioned scene, named by its
 * path relative to the archive folder that holds it. Chip captions have no file of their own in
 * these formats and are counted, not written.
 */
export async function exportCaptionFile(
  deps: Pick<CaptionFileDeps, 'catalog' | 'journal'>,
  archiveId: string,
  format: CaptionFormat,
  out: string,
): Promise<{ archiveId: string; out: string; format: CaptionFormat; images: number; captions: number; chipCaptionsLeftOut: number }> {
  const archive = deps.catalog.archive(knownArchive(deps.catalog, archiveId))!;
  const scenes = new Map((await deps.catalog.scenes(archiveId)).map((s) => [s.id, s]));
  const bySceneId = new Map<string, CaptionState[]>();
  let chip = 0;
  for (const c of await deps.journal.list(archiveId)) {
    if ('chipId' in c.target) {
      chip++;
      continue;
    }
    const list = bySceneId.get(c.target.sceneId) ?? [];
    list.push(c);
    bySceneId.set(c.target.sceneId, list);
  }
  const set: CaptionSet = { format, images: [] };
  let captions = 0;
  for (const [sceneId, list] of bySceneId) {
    const scene = scenes.get(sceneId);
    if (!scene) continue;
    const root = archive.roots.filter((r) => scene.path.startsWith(r)).sort((a, b) => b.length - a.length)[0];
    const file = root ? relative(root, scene.path).split(/[\\/]/).join('/') : scene.path;
    set.images.push({ file, captions: list.map((c) => ({ text: c.text!, provenance: c.provenance })) });
    captions += list.length;
  }
  set.images.sort((a, b) => a.file.localeCompare(b.file));
  await writeFile(out, writeCaptions(set, format));
  return { archiveId, out, format, images: set.images.length, captions, chipCaptionsLeftOut: chip };
}
