import { stat } from 'node:fs/promises';
import { describeScene, scanFolder, type SceneDescription } from '../../core/raster/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';

function summary(d: SceneDescription): string {
  const lines = [
    `${d.file}`,
    `  ${d.width} × ${d.height} px, ${d.bands} band${d.bands === 1 ? '' : 's'} ${d.dtype} (${d.colorInterpretation.join(', ')})`,
    `  ${d.tiling.tiled ? `tiled ${d.tiling.blockWidth}×${d.tiling.blockHeight}` : 'stripped'}${d.cog ? ', COG' : ''}, ${d.compression}, overviews: ${d.overviews.map((o) => `${o.width}×${o.height}`).join(' ') || 'none'}`,
    `  mask: ${d.mask}${d.nodata !== null ? ` (nodata ${d.nodata})` : ''}`,
    `  crs: ${d.crs ? `${d.crs.epsg !== null ? `EPSG:${d.crs.epsg} ` : ''}${d.crs.name}` : 'none (pixel space)'}`,
  ];
  if (d.footprint) {
    const pts = (d.footprint.type === 'Polygon' ? d.footprint.coordinates.flat() : d.footprint.coordinates.flat(2)) as [number, number][];
    const lon = pts.map((p) => p[0]);
    const lat = pts.map((p) => p[1]);
    lines.push(`  footprint: ${d.footprint.type}, lon ${Math.min(...lon).toFixed(5)}…${Math.max(...lon).toFixed(5)}, lat ${Math.min(...lat).toFixed(5)}…${Math.max(...lat).toFixed(5)}`);
  }
  for (const n of d.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'Describe a raster (size, bands, type, CRS, overviews, WGS84 footprint) or every raster in a folder',
  usage: 'kestrel inspect <file|folder> [--json] [--data DIR]',
  options: {},
  async run(ctx) {
    const target = ctx.positionals[0];
    if (!target || ctx.positionals.length > 1) throw new UsageError('give one file or folder to inspect');
    const isDir = await stat(target).then((s) => s.isDirectory(), () => false);
    if (!isDir) {
      const d = await describeScene(target);
      if (ctx.json) printJson(ctx, d);
      else ctx.stdout.write(summary(d) + '\n');
      return 0;
    }
    const scan = await scanFolder(target, (file, i) => ctx.stderr.write(`[${i + 1}] ${file}\n`));
    if (ctx.json) printJson(ctx, scan);
    else {
      for (const d of scan.scenes) ctx.stdout.write(summary(d) + '\n');
      for (const e of scan.errors) ctx.stderr.write(`cannot read ${e.file}: ${e.message}\n  what to do: ${e.hint ?? ''}\n`);
    }
    return scan.errors.length > 0 ? 1 : 0;
  },
};
