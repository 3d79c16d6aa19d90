/** The engine's public face. Plain Node: never imports electron (enforced by eslint). */
export { openEngine, type Engine, type EngineOptions, type ActiveModel } from './engine.js';
export { resolveDataDir, userDataDir, packageInfo, rendererDir, DATA_DIR_ENV, PRODUCT_NAME } from './platform/paths.js';
export { listExecutionProviders } from './platform/providers.js';
export { EventBus } from './events.js';
export type { Asset, FromEngine, ToEngine } from './host-protocol.js';
