/**
 * Archives: folders of imagery, walked recursively minus exclude globs, each raster fingerprinted
 * (size, mtime, a partial content hash) and described. A rescan compares fingerprints and reports
 * added, changed and removed files; the index job then re-indexes only those.
 */
import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { KestrelError, type ScanReport } from '../../contract/index.js';
import type { ArchiveRecord, Fingerprint, Polygonal, SceneRecord, SceneSummary } from '../catalog/index.js';
import { describeScene, RASTER_EXTENSIONS, RasterError, type SceneDescription } from '../raster/index.js';

/** Glob → RegExp over a path relative to the root with `/` separators. `**` spans folders, `*` and `?` do not. */
export function globToRegExp(glob: string): RegExp {
  let g = glob.replace(/\\/g, '/').replace(/^\.\//, '');
  // A pattern without a slash matches a file or folder name at any depth (as in .gitignore).
  if (!g.includes('/')) g = `**/${g}`;
  if (g.startsWith('/')) g = g.slice(1);
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*' && g[i + 1] === '*') {
      i++;
      if (g[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A folder that matches excludes everything below it.
  return new RegExp(`^${re}(?:/.*)?$`);
}

const SAMPLE = 64 * 1024;

/** size + mtime + sha-256 of the size and three 64 KiB samples (head, middle, tail). */
export async function fingerprint(file: string): Promise<Fingerprint> {
  const fh = await open(file, 'r');
  try {
    const s = await fh.stat();
    const h = createHash('sha256').update(String(s.size));
    const offsets = s.size <= 3 * SAMPLE ? [0] : [0, Math.floor(s.size / 2) - SAMPLE / 2, s.size - SAMPLE];
    const buf = Buffer.alloc(Math.min(s.size, s.size <= 3 * SAMPLE ? s.size : SAMPLE));
    for (const off of offsets) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, off);
      h.update(buf.subarray(0, bytesRead));
    }
    return { size: s.size, mtimeMs: s.mtimeMs, hash: h.digest('hex').slice(0, 32) };
  } finally {
    await fh.close();
  }
}

/** The opaque id of a scene: stable for a path within its archive, lowercase hex (a tiles:// host). */
export function sceneIdOf(archiveId: string, path: string): string {
  return createHash('sha256').update(`${archiveId}\0${path}`).digest('hex').slice(0, 24);
}

export function newArchiveId(roots: string[]): string {
  return 'a' + createHash('sha256').update(`${roots.join('\0')}\0${Date.now()}\0${Math.random()}`).digest('hex').slice(0, 15);
}

/** Checks roots the user typed: absolute, existing, readable folders; returns them normalised. */
export async function validateRoots(roots: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const raw of roots) {
    const root = resolve(raw);
    let s;
    try {
      s = await stat(root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new KestrelError({
        code: code === 'ENOENT' ? 'not_found' : 'io_error',
        message: code === 'ENOENT' ? `The folder ${root} does not exist.` : `The folder ${root} cannot be opened (${code ?? 'error'}).`,
        file: root,
        hint: 'Check the path; it must be a folder this computer can read.',
      });
    }
    if (!s.isDirectory()) throw new KestrelError({ code: 'invalid_input', message: `${root} is a file, not a folder.`, file: root, hint: 'Add the folder that holds the images.' });
    try {
      await readdir(root);
    } catch (err) {
      throw new KestrelError({ code: 'io_error', message: `The folder ${root} cannot be listed (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, file: root, hint: 'Check its permissions.' });
    }
    if (!out.includes(root)) out.push(root);
  }
  for (const a of out) {
    for (const b of out) {
      if (a !== b && b.startsWith(a.endsWith(sep) ? a : a + sep)) {
        throw new KestrelError({ code: 'invalid_input', message: `${b} is inside ${a}; an archive's folders must not overlap.`, file: b, hint: 'Keep only the outer folder.' });
      }
    }
  }
  return out;
}

/** Every raster file under the roots, minus the excludes, sorted. Unlistable subfolders are reported. */
export async function listRasters(
  roots: string[],
  excludes: string[],
  options: { signal?: AbortSignal; onFolder?: (folder: string, filesSoFar: number) => void; pause?: ScanOptions['pause'] } = {},
): Promise<{ files: string[]; problems: ScanReport['problems'] }> {
  const patterns = excludes.map(globToRegExp);
  const files: string[] = [];
  const problems: ScanReport['problems'] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    const walk = async (dir: string): Promise<void> => {
      await options.pause?.();
      throwIfCancelled(options.signal);
      options.onFolder?.(dir, files.length);
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        problems.push({ file: dir, message: `The folder ${dir} could not be listed (${(err as NodeJS.ErrnoException).code ?? 'error'}); it was skipped.`, hint: 'Check its permissions and scan again.' });
        return;
      }
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const p = resolve(dir, e.name);
        const rel = relative(root, p).split(sep).join('/');
        if (patterns.some((re) => re.test(rel))) continue;
        let isDir = e.isDirectory();
        let isFile = e.isFile();
        if (e.isSymbolicLink()) {
          const s = await stat(p).catch(() => undefined);
          isDir = s?.isDirectory() ?? false;
          // A dangling link is a file that cannot be read: the scan reports it.
          isFile = s ? s.isFile() : true;
        }
        const ext = e.name.slice(e.name.lastIndexOf('.')).toLowerCase();
        if (isDir && !RASTER_EXTENSIONS.includes(ext)) {
          if (!seen.has(p)) {
            seen.add(p);
            await walk(p);
          }
        } else if (isFile && RASTER_EXTENSIONS.includes(ext)) files.push(p);
      }
    };
    await walk(root);
  }
  return { files: [...new Set(files)].sort(), problems };
}

function bboxOf(fp: Polygonal): [number, number, number, number] {
  const rings = fp.type === 'Polygon' ? [fp.coordinates[0]!] : fp.coordinates.map((p) => p[0]!);
  const lons = rings.flat().map((p) => p[0]);
  const lats = rings.flat().map((p) => p[1]);
  const [w, e] = [Math.min(...lons), Math.max(...lons)];
  // Split at the antimeridian: two polygons, one ending at +180 and one starting at −180.
  if (fp.type === 'MultiPolygon' && w <= -179.999 && e >= 179.999) {
    const east = rings.filter((r) => r.some((p) => p[0] >= 179.999));
    const west = rings.filter((r) => r.some((p) => p[0] <= -179.999));
    const west0 = Math.min(...east.flat().map((p) => p[0]));
    const east0 = Math.max(...west.flat().map((p) => p[0]));
    return [west0, Math.min(...lats), east0, Math.max(...lats)];
  }
  return [w, Math.min(...lats), e, Math.max(...lats)];
}

export function summarise(d: SceneDescription): SceneSummary {
  const footprint = (d.footprint as Polygonal | null) ?? null;
  return {
    name: d.name,
    format: d.format,
    width: d.width,
    height: d.height,
    bands: d.bands,
    dtype: d.dtype,
    epsg: d.crs?.epsg ?? null,
    georeferenced: d.georeferenced,
    footprint,
    bbox: footprint ? bboxOf(footprint) : null,
  };
}

function problemOf(err: unknown, file: string): { message: string; hint?: string } {
  if (err instanceof RasterError || err instanceof KestrelError) return { message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  const e = err as NodeJS.ErrnoException;
  return { message: `${basename(file)} could not be read (${e.code ?? e.message}).`, hint: 'Check the file; it is skipped until it can be read.' };
}

/** Thrown between files once a scan's signal is aborted; nothing has been written yet. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KestrelError({ code: 'cancelled', message: 'The scan was cancelled; nothing was changed.' });
}

export interface ScanOptions {
  /** Aborting stops the scan before its next file; checked until the scan starts writing. */
  signal?: AbortSignal;
  /** Called for each folder listed and each file read (throttle it: there may be tens of thousands). */
  onProgress?: (p: ScanStep) => void;
  /** Awaited before each file is read (tests pace a scan with it). */
  beforeFile?: (file: string) => Promise<void>;
  /** Awaited before each folder is listed and each file is read: holds a paused scan there (settles at once otherwise). */
  pause?: () => Promise<void>;
}

/** One step of a scan, for progress reports. */
export interface ScanStep {
  phase: 'listing' | 'reading';
  filesSeen: number;
  filesRead: number;
  total: number | null;
  currentFile: string | null;
}

/** An archive's scenes after a scan, and what changed; nothing is written. */
export interface ScanResult {
  scenes: SceneRecord[];
  summary: Omit<ScanReport, 'archiveId' | 'problems'>;
  problems: ScanReport['problems'];
}

/**
 * Reads an archive's folders against the scenes it had: keeps scenes whose fingerprint is
 * unchanged, describes new and changed files, drops removed ones. Unreadable files are kept with
 * status "error" and reported, never fatal. Writes nothing, so a cancelled scan changes nothing.
 */
export async function readArchive(archive: Pick<ArchiveRecord, 'id' | 'roots' | 'excludes'>, previous: SceneRecord[], options: ScanOptions = {}): Promise<ScanResult> {
  const archiveId = archive.id;
  const { signal, onProgress } = options;
  const { files, problems } = await listRasters(archive.roots, archive.excludes, {
    ...(signal ? { signal } : {}),
    ...(options.pause ? { pause: options.pause } : {}),
    onFolder: (folder, filesSeen) => onProgress?.({ phase: 'listing', filesSeen, filesRead: 0, total: null, currentFile: folder }),
  });
  const before = new Map(previous.map((s) => [s.path, s]));
  const now = new Date().toISOString();
  const scenes: SceneRecord[] = [];
  let added = 0;
  let changed = 0;
  let unchanged = 0;
  for (const [i, file] of files.entries()) {
    // A paused scan holds here, before it says which file is next: the count shown stands still.
    await options.pause?.();
    throwIfCancelled(signal);
    onProgress?.({ phase: 'reading', filesSeen: files.length, filesRead: i, total: files.length, currentFile: file });
    await options.beforeFile?.(file);
    throwIfCancelled(signal);
    const old = before.get(file);
    before.delete(file);
    let fp: Fingerprint;
    try {
      const s = await stat(file);
      // Same size and mtime: unchanged without reading a byte.
      if (old && old.status === 'ok' && old.fingerprint.size === s.size && old.fingerprint.mtimeMs === s.mtimeMs) {
        scenes.push(old);
        unchanged++;
        continue;
      }
      fp = await fingerprint(file);
    } catch (err) {
      const problem = problemOf(err, file);
      problems.push({ file, ...problem });
      scenes.push({ id: sceneIdOf(archiveId, file), archiveId, path: file, fingerprint: old?.fingerprint ?? { size: 0, mtimeMs: 0, hash: '' }, status: 'error', summary: old?.summary ?? null, error: problem, scannedAt: now });
      if (old) changed++;
      else added++;
      continue;
    }
    if (old && old.status === 'ok' && old.fingerprint.hash === fp.hash && old.fingerprint.size === fp.size) {
      // Touched, not changed: keep the scene (and its vectors), remember the new mtime.
      scenes.push({ ...old, fingerprint: fp });
      unchanged++;
      continue;
    }
    if (old) changed++;
    else added++;
    try {
      const d = await describeScene(file);
      scenes.push({ id: sceneIdOf(archiveId, file), archiveId, path: file, fingerprint: fp, status: 'ok', summary: summarise(d), error: null, scannedAt: now });
    } catch (err) {
      const problem = problemOf(err, file);
      problems.push({ file, ...problem });
      scenes.push({ id: sceneIdOf(archiveId, file), archiveId, path: file, fingerprint: fp, status: 'error', summary: null, error: problem, scannedAt: now });
    }
  }
  throwIfCancelled(signal);
  onProgress?.({ phase: 'reading', filesSeen: files.length, filesRead: files.length, total: files.length, currentFile: null });
  return { scenes, summary: { at: now, added, changed, removed: before.size, unchanged, errors: problems.length }, problems };
}

export { ScanRegistry, type ScanRun } from './scans.js';
export { archiveHandlers, type ArchiveHandlerDeps, type ArchiveHandlers } from './handlers.js';
