/**
 * The producing half of the indexing pipeline, run in a worker thread: scene → chip plan → RGB
 * chips → the model's input tensors, in batches. Flow control is by credits: the job grants as many
 * batches as its queue holds and one more for every batch it takes, so reading and preprocessing run
 * ahead of inference by a bounded amount and never flood memory.
 */
import { parentPort } from 'node:worker_threads';
import { KestrelError, type KestrelErrorData } from '../../contract/index.js';
import { normalizeInto, resizeForModel, type PreprocessSpec } from '../model/index.js';
import { bandMapping, extractChips, openScene, planChips, sceneStatistics } from '../raster/index.js';

export interface ProducerScene {
  slot: number;
  file: string;
  /** Plan index to start from (a resumed scene). */
  from: number;
}

export interface ChipItem {
  /** Plan index of the chip within its scene. */
  plan: number;
  /** log2 of the chip's scale: 0 = native resolution. */
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export type ToProducer =
  | { type: 'start'; scenes: ProducerScene[]; chipSize: number; spec: PreprocessSpec; batch: number }
  | { type: 'credit'; n: number };

export type FromProducer =
  | { type: 'scene'; slot: number; planned: number }
  | { type: 'chips'; slot: number; chips: ChipItem[]; next: number; pixels: Float32Array }
  | { type: 'sceneDone'; slot: number }
  | { type: 'sceneError'; slot: number; error: KestrelErrorData }
  | { type: 'end' };

export function serveChips(): void {
  const port = parentPort;
  if (!port) throw new Error('app/workers/chips runs as a worker thread');
  let credits = 0;
  let wake: (() => void) | undefined;
  const waitForCredit = async (): Promise<void> => {
    while (credits <= 0) await new Promise<void>((r) => (wake = r));
    credits--;
  };
  const post = (m: FromProducer): void => {
    if (m.type === 'chips') port.postMessage(m, [m.pixels.buffer as ArrayBuffer]);
    else port.postMessage(m);
  };
  port.on('message', (m: ToProducer) => {
    if (m.type === 'credit') {
      credits += m.n;
      wake?.();
      return;
    }
    void produce(m, waitForCredit, post).then(() => post({ type: 'end' }));
  });
}

async function produce(job: Extract<ToProducer, { type: 'start' }>, waitForCredit: () => Promise<void>, post: (m: FromProducer) => void): Promise<void> {
  const { spec, batch, chipSize } = job;
  const per = 3 * spec.size * spec.size;
  for (const s of job.scenes) {
    try {
      const scene = await openScene(s.file);
      try {
        const plan = planChips(scene, { size: chipSize });
        const planned = plan.length;
        post({ type: 'scene', slot: s.slot, planned });
        const stats = await sceneStatistics(scene);
        const mapping = bandMapping(scene.description);
        let items: ChipItem[] = [];
        let pixels = new Float32Array(per * batch);
        let next = s.from;
        const flush = async (): Promise<void> => {
          await waitForCredit();
          post({ type: 'chips', slot: s.slot, chips: items, next, pixels: items.length === batch ? pixels : pixels.slice(0, items.length * per) });
          items = [];
          pixels = new Float32Array(per * batch);
        };
        for await (const { chip, rgb } of extractChips(scene, plan.slice(s.from), { mapping, stats, size: spec.size })) {
          normalizeInto(resizeForModel(rgb, spec), spec, pixels, items.length * per);
          items.push({ plan: chip.index, level: Math.round(Math.log2(chip.scale)), ...chip.window });
          next = chip.index + 1;
          if (items.length === batch) await flush();
        }
        next = planned;
        if (items.length > 0) await flush();
      } finally {
        await scene.close();
      }
      post({ type: 'sceneDone', slot: s.slot });
    } catch (err) {
      post({ type: 'sceneError', slot: s.slot, error: KestrelError.from(err).toJSON() });
    }
  }
}
