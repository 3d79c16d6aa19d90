/** The engine's public face. Plain Node: never imports electron (enforced by eslint). */
export { openEngine, type Engine, type EngineOptions, type ActiveModel } from './engine.js';
export { resolveDataDir, userDataDir, packageInfo, rendererDir, listExecutionProviders, DATA_DIR_ENV, PRODUCT_NAME } from './platform/index.js';
export { EventBus } from './events.js';
export type { Asset, FromEngine, ToEngine } from './host-protocol.js';
