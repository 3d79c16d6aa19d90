/**
 * Messages between the engine running in its own process (app/workers/engine.ts) and the process
 * that routes to it (Electron main). Plain structured-clone data, no functions.
 */
import type { KestrelErrorData } from '../contract/index.js';

/**
 * The inference worker of the engine's model runtime, relayed through the process that started the
 * engine: inside Electron a utility process cannot start processes (and with the RunAsNode fuse off
 * it cannot fork Node either), so main starts inference workers on the engine's behalf and relays
 * their messages. `worker` numbers the engine's workers.
 */
export type InferenceFromEngine =
  | { type: 'inference'; worker: number; op: 'spawn' }
  | { type: 'inference'; worker: number; op: 'send'; message: unknown }
  | { type: 'inference'; worker: number; op: 'kill' };

export type InferenceToEngine =
  | { type: 'inference'; worker: number; event: 'spawned'; pid: number | undefined }
  | { type: 'inference'; worker: number; event: 'message'; message: unknown }
  | { type: 'inference'; worker: number; event: 'exit'; code: number | null; signal: string | null };

export type ToEngine =
  | InferenceToEngine
  | { type: 'call'; id: number; method: string; input: unknown }
  | { type: 'asset'; id: number; kind: 'tile'; sceneId: string; z: number; x: number; y: number }
  | { type: 'asset'; id: number; kind: 'thumb'; chipId: string }
  | { type: 'asset'; id: number; kind: 'basemap'; z: number; x: number; y: number };

export type FromEngine =
  | InferenceFromEngine
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
