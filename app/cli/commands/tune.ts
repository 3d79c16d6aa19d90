import { openEngine } from '../../core/index.js';
import type { TuneStatus } from '../../contract/index.js';
import { printJson, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { archiveOf } from './captions.js';

const line = (s: TuneStatus): string =>
  `${s.state}  epoch ${s.epoch}/${s.epochs}  loss ${s.loss === null ? '–' : s.loss.toFixed(4)}  val mR ${s.valMR === null ? '–' : (100 * s.valMR).toFixed(1)}  best ${s.bestMR === null ? '–' : (100 * s.bestMR).toFixed(1)}`;

/** `kestrel tune`: re-tunes the adapters on an archive's captions, as tune.start does from the UI. */
export const tune: Command = {
  name: 'tune',
  summary: "Re-tune the adapters on an archive's captions (the active model's cached embeddings); registers a new adapter version",
  usage: 'kestrel tune --archive <folder or id> [--model <installed pack id>] [--epochs N] [--activate] [--json] [--data DIR]',
  options: { archive: { type: 'string' }, model: { type: 'string' }, epochs: { type: 'string' }, activate: { type: 'boolean', default: false } },
  async run(ctx) {
    const epochs = ctx.values.epochs === undefined ? undefined : Number(ctx.values.epochs);
    if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1 && epochs <= 200)) throw new UsageError('--epochs must be an integer from 1 to 200');
    const engine = await openEngine({ dataDir: ctx.dataDir, runtime: 'in-process', resumeJobs: false });
    try {
      // The model whose cached embeddings are tuned: the active one, or the installed pack named here
      // (which then becomes the active one, as in the app).
      if (typeof ctx.values.model === 'string') await engine.handlers['models.activate']({ id: ctx.values.model });
      const archiveId = await archiveOf(ctx, engine);
      let finish: (s: TuneStatus) => void = () => {};
      const finished = new Promise<TuneStatus>((resolve) => (finish = resolve));
      const stop = engine.events.on('tune.progressed', (s) => {
        if (s.archiveId !== archiveId) return;
        ctx.stderr.write(line(s) + '\n');
        if (s.state !== 'running') finish(s);
      });
      // Ctrl-C cancels the run (nothing is registered) instead of killing it half-way.
      const cancel = (): void => void engine.handlers['tune.cancel']({ archiveId });
      process.once('SIGINT', cancel);
      const started = await engine.handlers['tune.start']({ archiveId, ...(epochs ? { epochs } : {}) });
      ctx.stderr.write(`tuning on ${started.images} images and ${started.captions} captions with ${started.model}…\n`);
      const result = started.state === 'running' ? await finished : started;
      stop();
      process.off('SIGINT', cancel);
      if (ctx.values.activate && result.adapterId) await engine.handlers['adapters.activate']({ id: result.adapterId });
      if (ctx.json) printJson(ctx, result);
      else ctx.stdout.write(result.adapterId ? `adapter ${result.adapterId} registered${ctx.values.activate ? ' and activated' : ''}\n` : `no adapter registered (${result.state})\n`);
      return result.state === 'done' ? 0 : 1;
    } finally {
      await engine.close();
    }
  },
};
