import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CAPTION_FORMATS, exportCaptionFile, importCaptionFile, type CaptionFormat } from '../../core/captions/index.js';
import { resolveArchive } from '../../core/catalog/index.js';
import { openEngine, type Engine } from '../../core/index.js';
import { printJson, type Command, type CommandContext } from '../command.js';
import { UsageError } from '../errors.js';

/** `--archive`: an archive id, or a folder (an archive's root; a folder that is not one yet is added and scanned). */
export async function archiveOf(ctx: CommandContext, engine: Engine): Promise<string> {
  const ref = ctx.values.archive;
  if (typeof ref !== 'string' || !ref) throw new UsageError('--archive <folder or id> is required');
  const found = resolveArchive(engine.catalog, ref) ?? resolveArchive(engine.catalog, resolve(ref));
  if (found) return found;
  if (!existsSync(resolve(ref))) throw new UsageError(`--archive ${ref}: no archive with that id, and no such folder`);
  ctx.stderr.write(`adding ${resolve(ref)} as an archive and scanning it…\n`);
  const { archive, scan } = await engine.handlers['archives.add']({ roots: [resolve(ref)] });
  ctx.stderr.write(`${scan.added} scenes, ${scan.errors} unreadable\n`);
  return archive.id;
}

export const captionsCommand: Command = {
  name: 'captions',
  summary: 'Import a caption file into an archive’s catalog (matched by file name), or export its captions as a caption file',
  usage: 'kestrel captions import <file> --archive <folder or id> [--json] | kestrel captions export --archive <folder or id> --format harma|karpathy|coco|jsonl --out <file> [--json]',
  options: { archive: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } },
  async run(ctx) {
    const [sub, file, ...extra] = ctx.positionals;
    if (sub !== 'import' && sub !== 'export') throw new UsageError('say import or export');
    if (sub === 'import' && (!file || extra.length > 0)) throw new UsageError('captions import takes one caption file');
    if (sub === 'export' && file !== undefined) throw new UsageError('captions export takes no file; give --out');
    const format = ctx.values.format as string | undefined;
    if (sub === 'export') {
      if (!format || !CAPTION_FORMATS.includes(format as CaptionFormat)) throw new UsageError(`--format must be ${CAPTION_FORMATS.join(', ')}`);
      if (typeof ctx.values.out !== 'string' || !ctx.values.out) throw new UsageError('--out <file> is required');
    }
    const engine = await openEngine({ dataDir: ctx.dataDir, runtime: 'in-process', loadModel: false, resumeJobs: false });
    try {
      const archiveId = await archiveOf(ctx, engine);
      const deps = { catalog: engine.catalog, journal: engine.captions, events: engine.events };
      if (sub === 'import') {
        const r = await importCaptionFile(deps, archiveId, resolve(file!));
        if (ctx.json) printJson(ctx, r);
        else {
          const c = r.counts;
          ctx.stdout.write(`${r.format} file: ${c.imagesMatched} of ${c.images} images matched (${c.captionsMatched} of ${c.captions} captions); ${r.added} captions added, ${r.duplicates} already there\n`);
          for (const u of r.unmatchedImages) ctx.stdout.write(`  unmatched: ${u.file} (${u.captions} captions)\n`);
          for (const a of r.ambiguousImages) ctx.stdout.write(`  ambiguous: ${a.file} → ${a.candidates.join(', ')}\n`);
          ctx.stdout.write(`${r.unmatchedArchiveFiles.length} archive files have no caption in the file\n`);
        }
      } else {
        const r = await exportCaptionFile(deps, archiveId, format as CaptionFormat, resolve(ctx.values.out as string));
        if (ctx.json) printJson(ctx, r);
        else ctx.stdout.write(`${r.captions} captions of ${r.images} images written to ${r.out} (${r.format})${r.chipCaptionsLeftOut ? `; ${r.chipCaptionsLeftOut} chip captions left out` : ''}\n`);
      }
      return 0;
    } finally {
      await engine.close();
    }
  },
};
