/**
 * Architectures as data: open_clip-style JSON configs (widths, layers, heads, patch size), built in for
 * the common CLIP ViTs and accepted from a file (open_clip's model_configs/*.json or a Hugging Face
 * CLIPModel config.json). The graph builder is driven by this, not by one hand-written graph per model.
 */
import { readFileSync } from 'node:fs';
import { KestrelError } from '../../../contract/index.js';

export type Activation = 'quick_gelu' | 'gelu';

export interface TowerSpec {
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
}

export interface ClipSpec {
  name: string;
  embedDim: number;
  vision: TowerSpec & { imageSize: number; patchSize: number };
  text: TowerSpec & { contextLength: number; vocabSize: number };
  /** From the config when it says (open_clip `quick_gelu`, HF `hidden_act`); undefined when it does not. */
  activation?: Activation;
  layerNormEps: number;
}

/** open_clip's model_configs JSON (the fields the ViT CLIP models use). */
export interface OpenClipConfig {
  embed_dim: number;
  quick_gelu?: boolean;
  vision_cfg: { image_size: number; layers: number; width: number; patch_size: number; head_width?: number; mlp_ratio?: number };
  text_cfg: { context_length?: number; vocab_size?: number; width: number; heads?: number; layers: number; mlp_ratio?: number };
}

/** A ViT CLIP's sizes: embedding, image side, vision tower (layers, width, patch, head width), text tower. */
interface VitSizes {
  embed: number;
  image: number;
  layers: number;
  width: number;
  patch: number;
  textWidth: number;
  textLayers: number;
  headWidth?: number;
}

const vit = ({ embed, image, layers, width, patch, textWidth, textLayers, headWidth = 64 }: VitSizes): OpenClipConfig => ({
  embed_dim: embed,
  quick_gelu: false,
  vision_cfg: { image_size: image, layers, width, patch_size: patch, head_width: headWidth },
  text_cfg: { context_length: 77, vocab_size: 49408, width: textWidth, heads: textWidth / 64, layers: textLayers },
});

/** The built-in architectures: open_clip's configs of the same names. */
export const BUILTIN_ARCHITECTURES: Record<string, OpenClipConfig> = {
  'ViT-B-32': vit({ embed: 512, image: 224, layers: 12, width: 768, patch: 32, textWidth: 512, textLayers: 12 }),
  'ViT-B-16': vit({ embed: 512, image: 224, layers: 12, width: 768, patch: 16, textWidth: 512, textLayers: 12 }),
  'ViT-L-14': vit({ embed: 768, image: 224, layers: 24, width: 1024, patch: 14, textWidth: 768, textLayers: 12 }),
  'ViT-L-14-336': vit({ embed: 768, image: 336, layers: 24, width: 1024, patch: 14, textWidth: 768, textLayers: 12 }),
  'ViT-H-14': vit({ embed: 1024, image: 224, layers: 32, width: 1280, patch: 14, textWidth: 1024, textLayers: 24, headWidth: 80 }),
};
for (const name of ['ViT-B-32', 'ViT-B-16', 'ViT-L-14', 'ViT-L-14-336']) {
  const base = BUILTIN_ARCHITECTURES[name];
  if (base) BUILTIN_ARCHITECTURES[`${name}-quickgelu`] = { ...base, quick_gelu: true };
}

function bad(message: string, file?: string): KestrelError {
  return new KestrelError({ code: 'invalid_input', message, ...(file ? { file } : {}), hint: `Use one of ${Object.keys(BUILTIN_ARCHITECTURES).join(', ')}, or pass --config <open_clip model config JSON>.` });
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function specFromOpenClip(name: string, c: OpenClipConfig, file?: string): ClipSpec {
  const v = c.vision_cfg;
  const t = c.text_cfg;
  if (!c || !posInt(c.embed_dim) || !v || !t || ![v.image_size, v.layers, v.width, v.patch_size, t.width, t.layers].every(posInt)) {
    throw bad(`The architecture config ${name} is not an open_clip ViT config (embed_dim, vision_cfg.{image_size, layers, width, patch_size}, text_cfg.{width, layers} are needed).`, file);
  }
  const headWidth = v.head_width ?? 64;
  if (v.width % headWidth !== 0) throw bad(`${name}: vision width ${v.width} is not a multiple of head_width ${headWidth}.`, file);
  const textHeads = t.heads ?? 8;
  return {
    name,
    embedDim: c.embed_dim,
    vision: { imageSize: v.image_size, patchSize: v.patch_size, width: v.width, layers: v.layers, heads: v.width / headWidth, mlpWidth: Math.round(v.width * (v.mlp_ratio ?? 4)) },
    text: { contextLength: t.context_length ?? 77, vocabSize: t.vocab_size ?? 49408, width: t.width, layers: t.layers, heads: textHeads, mlpWidth: Math.round(t.width * (t.mlp_ratio ?? 4)) },
    ...(c.quick_gelu !== undefined ? { activation: c.quick_gelu ? 'quick_gelu' : 'gelu' } : {}),
    layerNormEps: 1e-5,
  };
}

interface HfConfig {
  projection_dim?: number;
  vision_config: { hidden_size: number; num_hidden_layers: number; num_attention_heads: number; intermediate_size: number; image_size: number; patch_size: number; hidden_act?: string; layer_norm_eps?: number };
  text_config: { hidden_size: number; num_hidden_layers: number; num_attention_heads: number; intermediate_size: number; max_position_embeddings?: number; vocab_size?: number; hidden_act?: string };
}

export function specFromHf(name: string, c: HfConfig, file?: string): ClipSpec {
  const v = c.vision_config;
  const t = c.text_config;
  if (!v || !t || ![v.hidden_size, v.num_hidden_layers, v.num_attention_heads, v.intermediate_size, v.image_size, v.patch_size, t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.intermediate_size].every(posInt)) {
    throw bad(`${name} is not a Hugging Face CLIPModel config (vision_config and text_config with their sizes are needed).`, file);
  }
  const act = t.hidden_act ?? v.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu' && act !== 'gelu') throw bad(`${name}: hidden_act "${act}" is not one Kestrel builds (quick_gelu, gelu).`, file);
  return {
    name,
    embedDim: c.projection_dim ?? 512,
    vision: { imageSize: v.image_size, patchSize: v.patch_size, width: v.hidden_size, layers: v.num_hidden_layers, heads: v.num_attention_heads, mlpWidth: v.intermediate_size },
    text: { contextLength: t.max_position_embeddings ?? 77, vocabSize: t.vocab_size ?? 49408, width: t.hidden_size, layers: t.num_hidden_layers, heads: t.num_attention_heads, mlpWidth: t.intermediate_size },
    activation: act,
    layerNormEps: v.layer_norm_eps ?? 1e-5,
  };
}

/** A built-in name, or a JSON file in open_clip's or Hugging Face's config format. */
export function resolveArchitecture(arch: string | undefined, configFile: string | undefined): ClipSpec | undefined {
  if (configFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(configFile, 'utf8'));
    } catch (err) {
      throw bad(`Cannot read the architecture config ${configFile}: ${(err as Error).message}`, configFile);
    }
    const name = arch ?? configFile.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
    const obj = raw as Record<string, unknown>;
    if (obj && typeof obj === 'object' && 'vision_config' in obj) return specFromHf(name, raw as HfConfig, configFile);
    const oc = (obj && 'model_cfg' in obj ? obj.model_cfg : obj) as OpenClipConfig;
    return specFromOpenClip(name, oc, configFile);
  }
  if (!arch) return undefined;
  const builtin = BUILTIN_ARCHITECTURES[arch] ?? BUILTIN_ARCHITECTURES[arch.replace('/', '-')];
  if (!builtin) throw bad(`Kestrel has no built-in architecture "${arch}".`);
  return specFromOpenClip(arch, builtin);
}

export function describeSpec(s: ClipSpec): string {
  return `image ${s.vision.imageSize}px, patch ${s.vision.patchSize}, vision ${s.vision.layers}×${s.vision.width} (${s.vision.heads} heads), text ${s.text.layers}×${s.text.width} (${s.text.heads} heads), embedding ${s.embedDim}`;
}

/** The built-in whose shapes equal `s` (activation aside), if any. */
export function builtinMatching(s: ClipSpec): string | undefined {
  for (const [name, c] of Object.entries(BUILTIN_ARCHITECTURES)) {
    if (c.quick_gelu) continue;
    const b = specFromOpenClip(name, c);
    if (JSON.stringify({ ...b, name: '', activation: undefined }) === JSON.stringify({ ...s, name: '', activation: undefined })) return name;
  }
  return undefined;
}
