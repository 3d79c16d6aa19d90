/**
 * Adapters as files and records: the weights as a small JSON document (base64 float32 tensors),
 * and the facts the adapter registry keeps about each version (metrics, base model, data hash, date).
 * The registry itself lives in the catalog (docs/tuning.md, "Wiring").
 */
import { createHash } from 'node:crypto';
import { KestrelError } from '../../contract/index.js';
import { paramShapes, PARAM_NAMES, type AdapterConfig, type Params } from './adapter.js';
import type { RetrievalMetrics } from './metrics.js';
import type { TuningData, TuningOptions, TuningResult } from './train.js';

export interface AdapterFile {
  format: 'kestrel-adapter';
  version: 1;
  config: AdapterConfig;
  tensors: Record<string, { shape: number[]; float32: string }>;
}

export function serializeAdapter(config: AdapterConfig, params: Params): AdapterFile {
  const shapes = paramShapes(config);
  const tensors: AdapterFile['tensors'] = {};
  for (const name of PARAM_NAMES) {
    const t = Float32Array.from(params[name]);
    tensors[name] = { shape: shapes[name], float32: Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('base64') };
  }
  return { format: 'kestrel-adapter', version: 1, config, tensors };
}

export function deserializeAdapter(doc: unknown, file = 'adapter.json'): { config: AdapterConfig; params: Params } {
  const bad = (why: string): KestrelError => new KestrelError({ code: 'corrupt_file', message: `Adapter file ${file}: ${why}`, file, hint: 'Roll back to another adapter version or tune again.' });
  const d = doc as Partial<AdapterFile>;
  if (!d || d.format !== 'kestrel-adapter' || d.version !== 1 || !d.config || !d.tensors) throw bad('not a Kestrel adapter (format kestrel-adapter, version 1).');
  const shapes = paramShapes(d.config);
  const params = {} as Params;
  for (const name of PARAM_NAMES) {
    const t = d.tensors[name];
    const want = shapes[name].reduce((a, b) => a * b, 1);
    if (!t || typeof t.float32 !== 'string') throw bad(`tensor "${name}" is missing.`);
    const bytes = Buffer.from(t.float32, 'base64');
    if (bytes.byteLength !== want * 4) throw bad(`tensor "${name}" has ${bytes.byteLength / 4} values; ${want} expected for ${JSON.stringify(d.config)}.`);
    params[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  return { config: d.config, params };
}

/** A hash of the training data (embeddings and pairing): two versions tuned on the same data share it. */
export function tuningDataHash(data: TuningData): string {
  const h = createHash('sha256');
  h.update(`dim=${data.dim};`);
  for (const a of [data.images, data.texts, data.textImage]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

/** What the registry stores about one adapter version (beside its AdapterFile). */
export interface AdapterRecord {
  id: string;
  createdAt: string;
  /** The model pack whose cached embeddings it was tuned on (its name and checksum). */
  baseModel: { name: string; sha256?: string };
  dataHash: string;
  config: AdapterConfig;
  options: Omit<TuningOptions, 'threads'>;
  metrics: { baseline: RetrievalMetrics; validation: RetrievalMetrics; bestEpoch: number; epochsRun: number; stopReason: TuningResult['stopReason'] };
  /** Evaluations run later on caption files (kestrel eval --adapter). */
  evaluations: { captions: string; at: string; metrics: RetrievalMetrics }[];
}

/** What an adapter's registry record is made from: its id, base model, tuning data, options and result. */
export interface AdapterRecordSource {
  id: string;
  baseModel: AdapterRecord['baseModel'];
  data: TuningData;
  options: Omit<TuningOptions, 'threads'>;
  result: TuningResult;
  now?: Date;
}

export function adapterRecord({ id, baseModel, data, options, result, now = new Date() }: AdapterRecordSource): AdapterRecord {
  return {
    id,
    createdAt: now.toISOString(),
    baseModel,
    dataHash: tuningDataHash(data),
    config: result.config,
    options,
    metrics: { baseline: result.baseline, validation: result.best, bestEpoch: result.bestEpoch, epochsRun: result.epochsRun, stopReason: result.stopReason },
    evaluations: [],
  };
}
