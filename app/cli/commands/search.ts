import type { SearchResult } from '../../contract/index.js';
import { openEngine } from '../../core/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { locatePack, startModel } from './index-common.js';
import { MODEL_OPTIONS } from './model-common.js';

/** Hits as a GeoJSON FeatureCollection ranked by score (pixel-space scenes have a null geometry). */
export function toGeoJson(text: string, result: SearchResult): unknown {
  return {
    type: 'FeatureCollection',
    query: text,
    model: result.model,
    calibration: result.calibration,
    features: result.hits.map((h) => ({
      type: 'Feature',
      id: h.chipId,
      geometry: h.polygon,
      properties: { rank: h.rank, score: h.score, similarity: h.similarity, sceneId: h.sceneId, chipId: h.chipId, archiveId: h.archiveId, path: h.path, level: h.level, window: h.window, merged: h.merged },
    })),
  };
}

function numbers(flag: string, value: string, count: number): number[] {
  const parts = value.split(',').map(Number);
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n))) throw new UsageError(`${flag} needs ${count} comma-separated numbers`);
  return parts;
}

export const search: Command = {
  name: 'search',
  summary: 'Search the indexed archives by text; --json prints a GeoJSON FeatureCollection ranked by score',
  usage: 'kestrel search "<text>" [--model <pack>] [--top N] [--bbox w,s,e,n] [--level L,…] [--min-score Z] [--json] [--data DIR]',
  options: { ...MODEL_OPTIONS, top: { type: 'string' }, bbox: { type: 'string' }, level: { type: 'string' }, 'min-score': { type: 'string' } },
  async run(ctx) {
    if (ctx.positionals.length === 0) throw new UsageError('give the text to search for');
    const text = ctx.positionals.join(' ');
    const top = ctx.values.top === undefined ? 20 : Number(ctx.values.top);
    if (!Number.isInteger(top) || top < 1 || top > 1000) throw new UsageError('--top must be an integer from 1 to 1000');
    const bbox = ctx.values.bbox === undefined ? undefined : (numbers('--bbox', ctx.values.bbox as string, 4) as [number, number, number, number]);
    if (bbox && (Math.abs(bbox[1]) > 90 || Math.abs(bbox[3]) > 90 || bbox[1] > bbox[3])) throw new UsageError('--bbox is west,south,east,north in degrees');
    const levels = ctx.values.level === undefined ? undefined : (ctx.values.level as string).split(',').map(Number);
    if (levels?.some((l) => !Number.isInteger(l) || l < 0)) throw new UsageError('--level takes chip levels 0, 1, 2, … (comma-separated)');
    const minScore = ctx.values['min-score'] === undefined ? undefined : Number(ctx.values['min-score']);
    if (minScore !== undefined && !Number.isFinite(minScore)) throw new UsageError('--min-score must be a number');
    const engine = await openEngine({ dataDir: ctx.dataDir, runtime: 'in-process', loadModel: false, resumeJobs: false });
    let model;
    try {
      // Without --model: the active pack, else the one pack the archives were indexed with.
      const indexedWith = [...new Set((await engine.handlers['index.status']({})).map((j) => j.model))];
      const requested =
        (ctx.values.model as string | undefined) ?? (await engine.handlers['settings.get']({})).activeModel ?? (indexedWith.length === 1 ? indexedWith[0] : undefined);
      if (!requested) {
        throw new UsageError(
          indexedWith.length > 1 ? `--model <pack> is required: the archives were indexed with ${indexedWith.join(', ')}` : '--model <pack> is required (no model pack is active)',
        );
      }
      let dir: string;
      try {
        dir = locatePack(ctx, requested);
      } catch (err) {
        if (ctx.values.model !== undefined) throw err;
        throw new UsageError(`the archives were indexed with the model pack "${requested}", which is not installed here: pass --model <its folder>`);
      }
      model = await startModel(ctx, dir);
      const [q] = await model.runtime.embedTexts([text]);
      const result = await engine.search.search(model.id, q!, { topK: top, bbox, levels, minScore });
      if (ctx.json) printJson(ctx, toGeoJson(text, result));
      else {
        if (result.hits.length === 0) ctx.stdout.write('no hits\n');
        for (const h of result.hits) {
          ctx.stdout.write(`${String(h.rank).padStart(3)}  ${h.score.toFixed(2).padStart(6)}  level ${h.level}  ${h.window.width}×${h.window.height}+${h.window.x}+${h.window.y}  ${h.path}\n`);
        }
      }
      return 0;
    } finally {
      await model?.runtime.close();
      await engine.close();
    }
  },
};
