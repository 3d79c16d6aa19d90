import { resolve } from 'node:path';
import type { IndexStatus } from '../../contract/index.js';
import { openEngine } from '../../core/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { locatePack, startModel } from './index-common.js';
import { MODEL_OPTIONS } from './model-common.js';

function duration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressLine(s: IndexStatus): string {
  const total = s.chips.estimatedTotal !== null ? `/~${s.chips.estimatedTotal}` : '';
  const file = s.currentFile ? `  ${s.currentFile}` : '';
  return `${s.state}  scenes ${s.scenes.done}/${s.scenes.total}${s.scenes.failed ? ` (${s.scenes.failed} unreadable)` : ''}  chips ${s.chips.done}${total}  ${s.chipsPerSecond.toFixed(1)} chips/s  ETA ${duration(s.etaSeconds)}${file}`;
}

export const index: Command = {
  name: 'index',
  summary: 'Add a folder of imagery as an archive (or rescan it) and index it with a model pack; resumes where it stopped',
  usage: 'kestrel index <folder> --model <pack> [--exclude GLOB]… [--reindex] [--provider …] [--threads N] [--json] [--data DIR]',
  options: { ...MODEL_OPTIONS, exclude: { type: 'string', multiple: true }, reindex: { type: 'boolean', default: false } },
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError('give exactly one folder');
    const folder = resolve(ctx.positionals[0]!);
    const packDir = locatePack(ctx, ctx.values.model as string | undefined);
    const excludes = (ctx.values.exclude as string[] | undefined) ?? [];
    const engine = await openEngine({ dataDir: ctx.dataDir, runtime: 'in-process', loadModel: false, resumeJobs: false });
    let model;
    try {
      const existing = engine.catalog.archives().find((a) => a.roots.length === 1 && a.roots[0] === folder);
      let archiveId: string;
      if (existing) {
        if (excludes.length) await engine.catalog.updateArchive(existing.id, { excludes });
        const scan = await engine.handlers['archives.scan']({ id: existing.id });
        ctx.stderr.write(`rescanned ${folder}: ${scan.added} added, ${scan.changed} changed, ${scan.removed} removed, ${scan.unchanged} unchanged\n`);
        archiveId = existing.id;
      } else {
        const { archive, scan } = await engine.handlers['archives.add']({ roots: [folder], excludes });
        ctx.stderr.write(`added archive "${archive.name}" (${archive.id}): ${scan.added} raster file(s)\n`);
        archiveId = archive.id;
      }
      model = await startModel(ctx, packDir);
      const tty = (ctx.stderr as NodeJS.WriteStream).isTTY === true;
      let lastLine = 0;
      engine.events.on('index.progressed', (s) => {
        const now = Date.now();
        if (s.state !== 'running' || now - lastLine < (tty ? 200 : 1000)) return;
        lastLine = now;
        ctx.stderr.write(tty ? `\r\x1b[K${progressLine(s)}` : `${progressLine(s)}\n`);
      });
      const { done } = await engine.jobs.start(archiveId, model, { reindex: ctx.values.reindex === true });
      // Ctrl-C pauses: what was indexed is committed and the next run resumes from there.
      const onSigint = (): void => void engine.jobs.pause(archiveId);
      process.once('SIGINT', onSigint);
      const final = await done;
      process.off('SIGINT', onSigint);
      if (tty) ctx.stderr.write('\n');
      for (const p of final.problems) ctx.stderr.write(`skipped ${p.file}: ${p.message}\n`);
      ctx.stderr.write(`${progressLine(final)}\n`);
      if (final.error) ctx.stderr.write(`kestrel index: ${final.error.message}${final.error.hint ? `\n  what to do: ${final.error.hint}` : ''}\n`);
      if (ctx.json) printJson(ctx, final);
      return final.state === 'done' ? 0 : final.state === 'paused' ? 130 : 1;
    } finally {
      await model?.runtime.close();
      await engine.close();
    }
  },
};
