/**
 * Checkpoints written by the tests themselves: an open_clip-layout safetensors file of any size, for
 * imports that must take long enough to be watched and cancelled. The values are a cheap repeating
 * pattern (the importer converts and writes every byte all the same); what matters is the size.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface OpenClipDims {
  visionWidth: number;
  visionLayers: number;
  textWidth: number;
  textLayers: number;
  embed: number;
  /** Image side and patch size (grid = image / patch). */
  image: number;
  patch: number;
}

function openClipTensors(d: OpenClipDims): [string, number[]][] {
  const t: [string, number[]][] = [];
  const grid = d.image / d.patch;
  const block = (prefix: string, w: number): void => {
    t.push([`${prefix}.ln_1.weight`, [w]], [`${prefix}.ln_1.bias`, [w]]);
    t.push([`${prefix}.attn.in_proj_weight`, [3 * w, w]], [`${prefix}.attn.in_proj_bias`, [3 * w]]);
    t.push([`${prefix}.attn.out_proj.weight`, [w, w]], [`${prefix}.attn.out_proj.bias`, [w]]);
    t.push([`${prefix}.ln_2.weight`, [w]], [`${prefix}.ln_2.bias`, [w]]);
    t.push([`${prefix}.mlp.c_fc.weight`, [4 * w, w]], [`${prefix}.mlp.c_fc.bias`, [4 * w]]);
    t.push([`${prefix}.mlp.c_proj.weight`, [w, 4 * w]], [`${prefix}.mlp.c_proj.bias`, [w]]);
  };
  const v = d.visionWidth;
  t.push(['visual.conv1.weight', [v, 3, d.patch, d.patch]], ['visual.class_embedding', [v]], ['visual.positional_embedding', [grid * grid + 1, v]]);
  t.push(['visual.ln_pre.weight', [v]], ['visual.ln_pre.bias', [v]]);
  for (let i = 0; i < d.visionLayers; i++) block(`visual.transformer.resblocks.${i}`, v);
  t.push(['visual.ln_post.weight', [v]], ['visual.ln_post.bias', [v]], ['visual.proj', [v, d.embed]]);
  const w = d.textWidth;
  t.push(['token_embedding.weight', [49408, w]], ['positional_embedding', [77, w]]);
  for (let i = 0; i < d.textLayers; i++) block(`transformer.resblocks.${i}`, w);
  t.push(['ln_final.weight', [w]], ['ln_final.bias', [w]], ['text_projection', [w, d.embed]]);
  return t;
}

/** Writes an open_clip state dict as float32 safetensors; returns its size in bytes. */
export function writeOpenClipSafetensors(path: string, dims: OpenClipDims): number {
  const tensors = openClipTensors(dims);
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const chunk = new Float32Array(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = ((i * 7919) % 2001) / 1000 - 1;
  const bytes = Buffer.from(chunk.buffer);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    for (let left = at; left > 0; left -= Math.min(left, bytes.length)) writeSync(fd, bytes, 0, Math.min(left, bytes.length));
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + at;
}
