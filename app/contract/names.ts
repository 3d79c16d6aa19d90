/**
 * The contract's method and event names, free of any schema library, so that the sandboxed
 * preload (which cannot load node_modules) can expose exactly these and nothing else.
 * `schema.ts` checks at compile time that these lists and the schema map agree.
 */
export const METHOD_NAMES = [
  'app.info',
  'settings.get',
  'settings.set',
  'view.get',
  'view.set',
  'archives.list',
  'models.list',
  'models.status',
  'models.activate',
  'models.import',
  'models.importCancel',
  'models.imports',
  'archives.add',
  'archives.scan',
  'archives.remove',
  'archives.scenes',
  'archives.cancelScan',
  'archives.pauseScan',
  'archives.resumeScan',
  'index.start',
  'index.pause',
  'index.resume',
  'index.cancel',
  'index.status',
  'search.query',
  'search.similar',
  'search.suggestCaptions',
  'captions.importBank',
  'captions.list',
  'captions.add',
  'captions.edit',
  'captions.delete',
  'captions.undo',
  'captions.history',
  'captions.queue',
  'tune.start',
  'tune.cancel',
  'adapters.list',
  'adapters.activate',
  'basemap.info',
  'dialog.pick',
] as const;
export const EVENT_NAMES = [
  'settings.changed',
  'engine.restarted',
  'models.statusChanged',
  'models.importProgressed',
  'index.progressed',
  'archives.scanned',
  'archives.scanProgressed',
  'captions.changed',
  'tune.progressed',
] as const;

/** IPC channel for a method: one channel per method, never a generic invoke. */
export const methodChannel = (method: string): string => `kestrel:call:${method}`;
/** IPC channel on which the main process forwards engine events. */
export const EVENT_CHANNEL = 'kestrel:event';
