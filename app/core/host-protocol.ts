/**
 * Messages between the engine running in its own process (app/workers/engine.ts) and the process
 * that routes to it (Electron main). Plain structured-clone data, no functions.
 */
import type { KestrelErrorData } from '../contract/index.js';

export type ToEngine =
  | { type: 'call'; id: number; method: string; input: unknown }
  | { type: 'asset'; id: number; kind: 'tile'; sceneId: string; z: number; x: number; y: number }
  | { type: 'asset'; id: number; kind: 'thumb'; chipId: string };

export type FromEngine =
  | { type: 'ready' }
  | { type: 'fatal'; error: KestrelErrorData }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: KestrelErrorData }
  | { type: 'event'; event: string; payload: unknown };

/** An encoded image the engine hands out by opaque id (map tile, chip thumbnail). */
export interface Asset {
  body: Uint8Array;
  type: string;
}
