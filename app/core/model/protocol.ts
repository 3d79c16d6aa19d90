/** Messages between the model runtime (app/core/model/runtime.ts) and the inference worker. */
import type { KestrelErrorData } from '../../contract/index.js';
import type { ModelSessionOptions, ModelStatus } from './session.js';

export type InferenceOp =
  | { op: 'load'; pack: string; options: ModelSessionOptions }
  | { op: 'tokenize'; texts: string[] }
  | { op: 'embedTexts'; texts: string[] }
  | { op: 'embedImages'; files: string[] }
  | { op: 'embedPixels'; pixels: Float32Array; count: number };

export type ToInference = InferenceOp & { id: number };

export type InferenceResult = {
  load: ModelStatus;
  tokenize: Int32Array[];
  embedTexts: Float32Array[];
  embedImages: Float32Array[];
  embedPixels: Float32Array[];
};

export type FromInference =
  | { type: 'ready'; pid: number }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: KestrelErrorData };
