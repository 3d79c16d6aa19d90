/**
 * The model pack: a folder with manifest.json, image.onnx, text.onnx and tokenizer files.
 * This module reads and checks the manifest and the files it names; pack.ts checks the ONNX graphs.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { z } from 'zod';
import { KestrelError } from '../../contract/index.js';
import { clipVocabularyPath } from './resources.js';

const Triple = z.tuple([z.number(), z.number(), z.number()]);
const FileName = z
  .string()
  .min(1)
  .refine((f) => !isAbsolute(f) && !normalize(f).startsWith('..'), 'must be a file inside the pack folder');

/** `builtin:clip-bpe-16e6` names the vocabulary Kestrel ships in resources/tokenizer. */
export const BUILTIN_CLIP_VOCABULARY = 'builtin:clip-bpe-16e6';

export const ModelPackManifest = z
  .object({
    format: z.literal('kestrel-model-pack'),
    formatVersion: z.literal(1),
    name: z.string().min(1),
    licence: z.string().min(1),
    provenance: z.object({ source: z.string().min(1) }).catchall(z.unknown()),
    architecture: z
      .object({
        family: z.enum(['open_clip', 'hf_clip', 'harma']),
        name: z.string().min(1),
        /** Not in any state dict: QuickGELU for OpenAI-derived weights, exact GELU for OpenCLIP LAION. */
        activation: z.enum(['quick_gelu', 'gelu']),
      })
      .catchall(z.unknown()),
    embeddingSize: z.number().int().positive(),
    image: z.object({
      file: FileName,
      input: z.string().min(1),
      output: z.string().min(1),
      size: z.number().int().positive(),
      mean: Triple,
      std: Triple.refine((s) => s.every((v) => v > 0), 'std values must be positive'),
      /** shortest-side-center-crop: open_clip's eval transform; direct: squash to size × size (tiles). */
      resize: z.enum(['shortest-side-center-crop', 'direct']),
      interpolation: z.literal('bicubic'),
    }),
    text: z.object({
      file: FileName,
      input: z.string().min(1),
      output: z.string().min(1),
      contextLength: z.number().int().min(2),
      tokenizer: z.object({
        kind: z.literal('clip-bpe'),
        files: z.object({ vocabulary: z.union([z.literal(BUILTIN_CLIP_VOCABULARY), FileName]) }),
      }),
    }),
    /** Optional sha256 per file, checked on load. */
    files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
  })
  .strict();
export type ModelPackManifest = z.infer<typeof ModelPackManifest>;

/** A pack whose manifest and files were found and checked; paths are absolute. */
export interface ModelPack {
  dir: string;
  manifest: ModelPackManifest;
  imageModel: string;
  textModel: string;
  vocabulary: string;
}

function packError(message: string, file: string, hint: string, issues?: KestrelError['issues']): KestrelError {
  return new KestrelError({ code: 'corrupt_file', message, file, hint, ...(issues ? { issues } : {}) });
}

/** Reads `<dir>/manifest.json`, checks it against the schema and checks that every file it names exists. */
export function readModelPack(dir: string): ModelPack {
  const root = resolve(dir);
  const manifestPath = join(root, 'manifest.json');
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new KestrelError({
      code: 'not_found',
      message: `No model pack folder at ${root}.`,
      file: root,
      hint: 'Pass the folder that holds manifest.json, image.onnx and text.onnx.',
    });
  }
  if (!existsSync(manifestPath)) {
    throw packError('The model pack has no manifest.json.', manifestPath, 'A model pack folder needs manifest.json beside image.onnx and text.onnx.');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw packError(`The model pack manifest is not valid JSON: ${(err as Error).message}`, manifestPath, 'Fix or regenerate manifest.json.');
  }
  const parsed = ModelPackManifest.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw packError(
      `The model pack manifest is invalid: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}.`,
      manifestPath,
      'Compare it with docs/model.md (the model pack) and fix the fields named.',
      issues,
    );
  }
  const manifest = parsed.data;
  const need = (file: string, what: string): string => {
    const path = join(root, file);
    if (!existsSync(path)) {
      throw packError(`The model pack is missing its ${what} (${file}).`, path, `Put ${file} in the pack folder, or fix manifest.json.`);
    }
    return path;
  };
  const imageModel = need(manifest.image.file, 'image tower');
  const textModel = need(manifest.text.file, 'text tower');
  const vocabName = manifest.text.tokenizer.files.vocabulary;
  const vocabulary = vocabName === BUILTIN_CLIP_VOCABULARY ? clipVocabularyPath() : need(vocabName, 'tokenizer vocabulary');
  if (vocabName === BUILTIN_CLIP_VOCABULARY && !existsSync(vocabulary)) {
    throw packError('Kestrel\'s built-in CLIP vocabulary is missing.', vocabulary, 'Reinstall Kestrel (resources/tokenizer is incomplete).');
  }
  for (const [file, expected] of Object.entries(manifest.files ?? {})) {
    const path = need(file, `file ${file}`);
    const actual = createHash('sha256').update(readFileSync(path)).digest('hex');
    if (actual !== expected) {
      throw packError(`${file} does not match the checksum in manifest.json; the pack is damaged or was edited.`, path, 'Copy the pack again from its source.');
    }
  }
  return { dir: root, manifest, imageModel, textModel, vocabulary };
}
