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
  })
  .strict();
export type Settings = z.infer<typeof Settings>;

export const SettingsPatch = Settings.partial().strict();
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

const Empty = z.object({}).strict();

export const methods = {
  'app.info': { input: Empty, output: AppInfo },
  'settings.get': { input: Empty, output: Settings },
  'settings.set': { input: SettingsPatch, output: Settings },
  'archives.list': { input: Empty, output: z.array(ArchiveSummary) },
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
