/**
 * Pairs the images of a caption file with the files of an archive by name: the caption file says
 * `test/bridge_358.jpg`, the archive holds `scenes/Bridge_358.tif`. Base names are compared
 * case-insensitively, first with their extension, then without it (caption files often name the
 * JPEG a dataset was released as while the archive keeps the original TIFF). When a name fits
 * several archive files, the caption file's folders decide (`ucm/1.tif` is the `1.tif` under a
 * `ucm` folder); if they cannot, the entry is reported as ambiguous rather than guessed.
 */
import type { CaptionSet } from './formats.js';

export interface CaptionMatch {
  /** Index into the caption set's images. */
  image: number;
  /** The archive file (as given in `archiveFiles`). */
  archiveFile: string;
  /** How it matched: the whole base name, the base name without extension, or the path's folders too. */
  by: 'name' | 'stem' | 'path';
}

export interface CaptionMatchReport {
  matched: CaptionMatch[];
  /** Caption-file images with no archive file of that name. */
  unmatchedImages: { image: number; file: string; captions: number }[];
  /** Caption-file images whose name fits several archive files. */
  ambiguousImages: { image: number; file: string; candidates: string[] }[];
  /** Archive files no caption entry names. */
  unmatchedArchiveFiles: string[];
  counts: { images: number; imagesMatched: number; captions: number; captionsMatched: number; archiveFiles: number };
}

export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1]!.toLowerCase();
}

export function stem(path: string): string {
  const b = baseName(path);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

/** Whether the archive path ends with the caption entry's folders (`ucm/1.tif` ~ `/data/UCM/1.tif`). */
function sameFolders(entry: string, archiveFile: string): boolean {
  const e = entry.toLowerCase().split(/[\\/]/).filter((p) => p && p !== '.');
  if (e.length < 2) return false;
  const a = archiveFile.toLowerCase().split(/[\\/]/);
  const folders = e.slice(0, -1);
  const aFolders = a.slice(0, -1);
  return folders.every((f, k) => aFolders[aFolders.length - folders.length + k] === f);
}

function indexBy(files: string[], key: (f: string) => string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of files) {
    const k = key(f);
    const list = m.get(k);
    if (list) list.push(f);
    else m.set(k, [f]);
  }
  return m;
}

/** Matches a caption set's images against an archive's file names (paths or bare names). */
export function matchCaptions(set: CaptionSet, archiveFiles: string[]): CaptionMatchReport {
  const byName = indexBy(archiveFiles, baseName);
  const byStem = indexBy(archiveFiles, stem);
  const report: CaptionMatchReport = {
    matched: [],
    unmatchedImages: [],
    ambiguousImages: [],
    unmatchedArchiveFiles: [],
    counts: { images: set.images.length, imagesMatched: 0, captions: 0, captionsMatched: 0, archiveFiles: archiveFiles.length },
  };
  const used = new Set<string>();
  set.images.forEach((img, i) => {
    report.counts.captions += img.captions.length;
    const exact = byName.get(baseName(img.file));
    const candidates = exact ?? byStem.get(stem(img.file));
    if (!candidates) {
      report.unmatchedImages.push({ image: i, file: img.file, captions: img.captions.length });
      return;
    }
    let pick = candidates.length === 1 ? candidates[0] : undefined;
    if (!pick) {
      const byPath = candidates.filter((f) => sameFolders(img.file, f));
      if (byPath.length !== 1) {
        report.ambiguousImages.push({ image: i, file: img.file, candidates: [...candidates] });
        return;
      }
      pick = byPath[0]!;
    }
    const archiveFile = pick;
    used.add(archiveFile);
    report.matched.push({ image: i, archiveFile, by: candidates.length > 1 ? 'path' : exact ? 'name' : 'stem' });
    report.counts.imagesMatched++;
    report.counts.captionsMatched += img.captions.length;
  });
  report.unmatchedArchiveFiles = archiveFiles.filter((f) => !used.has(f));
  return report;
}
