/**
 * The contract: one typed map of methods and events. Every transport validates inputs against these
 * schemas at its boundary; app/core implements the handlers once.
 *
 * Naming: methods are `noun.verb` in the user's words; events are `noun.pastTense`.
 */
import { z } from 'zod';
import { EVENT_NAMES, METHOD_NAMES } from './names.js';

export const Theme = z.enum(['system', 'light', 'dark']);
export const ExecutionProviderName = z.enum(['cpu', 'webgpu', 'cuda', 'tensorrt', 'dml', 'coreml']);

export const Settings = z
  .object({
    /** UI theme; `system` follows the OS. */
    theme: Theme,
    /** Default number of hits a search returns. */
    searchTopK: z.number().int().min(1).max(1000),
    /** Preferred execution provider; `auto` picks the fastest that works on this machine. */
    executionProvider: z.union([z.literal('auto'), ExecutionProviderName]),
    /** Whether the first-run explanation was dismissed. */
    welcomeDismissed: z.boolean(),
    /** The id of the active model pack (changed through models.activate, which also loads it). */
    activeModel: z.string().nullable(),
  })
  .strict();
export type Settings = z.infer<typeof Settings>;

export const SettingsPatch = Settings.omit({ activeModel: true }).partial().strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const ExecutionProviderInfo = z.object({
  name: z.string(),
  /** Shipped inside onnxruntime-node for this platform (as opposed to needing extra libraries). */
  bundled: z.boolean(),
});

export const Notice = z.object({
  level: z.enum(['info', 'warning']),
  message: z.string(),
  file: z.string().optional(),
});
export type Notice = z.infer<typeof Notice>;

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  platform: z.string(),
  arch: z.string(),
  node: z.string(),
  /** How this engine is being reached: desktop (Electron), server (HTTP) or in-process (tests, CLI). */
  runtime: z.enum(['desktop', 'server', 'in-process']),
  dataDir: z.string(),
  executionProviders: z.array(ExecutionProviderInfo),
  /** Things the user should know about that did not stop the engine (e.g. a settings file set aside). */
  notices: z.array(Notice),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const ArchiveSummary = z.object({
  id: z.string(),
  name: z.string(),
  root: z.string(),
  sceneCount: z.number().int().nonnegative(),
  addedAt: z.string(),
});
export type ArchiveSummary = z.infer<typeof ArchiveSummary>;

/** A model pack's id: its folder name. Never a path. */
export const ModelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a model pack id (letters, digits, . _ -)');

export const ModelPackSummary = z.object({
  id: ModelId,
  name: z.string(),
  licence: z.string(),
  /** Where the weights came from, in the pack's words. */
  provenance: z.string(),
  architecture: z.string(),
  activation: z.string(),
  embeddingSize: z.number().int(),
  /** installed: in the data folder (imported by the user); bundled: shipped with Kestrel. */
  source: z.enum(['installed', 'bundled']),
  /** Set when the pack cannot be used, with what is wrong and what to do. */
  problem: z.object({ message: z.string(), file: z.string().optional(), hint: z.string().optional() }).optional(),
});
export type ModelPackSummary = z.infer<typeof ModelPackSummary>;

export const ProviderAttempt = z.object({
  provider: z.string(),
  outcome: z.enum(['used', 'failed', 'skipped']),
  reason: z.string().optional(),
});

export const ModelsStatus = z.object({
  active: z.string().nullable(),
  /** The execution provider preference from the settings. */
  preference: z.string(),
  /** Providers that will be tried, in order, and those skipped on this machine with the reason. */
  plan: z.object({ candidates: z.array(z.string()), skipped: z.array(ProviderAttempt) }),
  /** The inference worker, once a pack is active: state, provider in use and why, warm-up time. */
  runtime: z
    .object({
      state: z.enum(['starting', 'ready', 'restarting', 'failed', 'closed']),
      provider: z.string().nullable(),
      providers: z.array(ProviderAttempt),
      loadMs: z.number().nullable(),
      warmUpMs: z.number().nullable(),
      restarts: z.number().int(),
      lastCrash: z.object({ at: z.string(), reason: z.string() }).nullable(),
      error: z.object({ message: z.string(), file: z.string().optional(), hint: z.string().optional() }).nullable(),
    })
    .nullable(),
});
export type ModelsStatus = z.infer<typeof ModelsStatus>;

const Empty = z.object({}).strict();

export const methods = {
  'app.info': { input: Empty, output: AppInfo },
  'settings.get': { input: Empty, output: Settings },
  'settings.set': { input: SettingsPatch, output: Settings },
  'archives.list': { input: Empty, output: z.array(ArchiveSummary) },
  'models.list': { input: Empty, output: z.array(ModelPackSummary) },
  'models.status': { input: Empty, output: ModelsStatus },
  /** Makes a pack the active one and loads it (warm-up included); null unloads. */
  'models.activate': { input: z.object({ id: ModelId.nullable() }).strict(), output: ModelsStatus },
} as const;

export const EngineRestarted = z.object({
  /** What happened, in the user's words. */
  reason: z.string(),
  /** Restarts so far in this session. */
  restarts: z.number().int().nonnegative(),
  /** True when the engine kept crashing and Kestrel stopped restarting it. */
  gaveUp: z.boolean(),
});
export type EngineRestarted = z.infer<typeof EngineRestarted>;

export const events = {
  'settings.changed': Settings,
  /** The desktop app's engine process died and was restarted; in-flight calls failed. */
  'engine.restarted': EngineRestarted,
  /** The active model or its runtime changed state (loading, ready, crashed, restarted, failed). */
  'models.statusChanged': ModelsStatus,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export const methodNames: readonly MethodName[] = METHOD_NAMES;
export const eventNames: readonly EventName[] = EVENT_NAMES;

// Compile-time proof that names.ts lists exactly the schema map's keys (both directions).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const namesAgree: [Same<(typeof METHOD_NAMES)[number], MethodName>, Same<(typeof EVENT_NAMES)[number], EventName>] = [
  true,
  true,
];
void namesAgree;

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}
