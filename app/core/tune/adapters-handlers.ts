/** The adapters.* methods of the contract: the tuned adapter versions in the registry and the active one. */
import type { Handlers } from '../../contract/index.js';
import type { RetrievalMetrics } from './metrics.js';
import type { AdapterRegistry } from './registry.js';

const recalls = (m: RetrievalMetrics): { imageToText: RetrievalMetrics['imageToText']; textToImage: RetrievalMetrics['textToImage']; mR: number } => ({
  imageToText: { r1: m.imageToText.r1, r5: m.imageToText.r5, r10: m.imageToText.r10 },
  textToImage: { r1: m.textToImage.r1, r5: m.textToImage.r5, r10: m.textToImage.r10 },
  mR: m.mR,
});

export function adaptersHandlers(deps: { registry: AdapterRegistry }): Pick<Handlers, 'adapters.list' | 'adapters.activate'> {
  const { registry } = deps;
  return {
    'adapters.list': () =>
      registry.list().map((r) => ({
        id: r.id,
        createdAt: r.createdAt,
        archiveId: r.archiveId,
        baseModel: r.baseModel,
        dataHash: r.dataHash,
        images: r.images,
        captions: r.captions,
        metrics: {
          baselineMR: r.metrics.baseline.mR,
          validationMR: r.metrics.validation.mR,
          baseline: recalls(r.metrics.baseline),
          validation: recalls(r.metrics.validation),
          bestEpoch: r.metrics.bestEpoch,
          epochsRun: r.metrics.epochsRun,
          stopReason: r.metrics.stopReason,
        },
        active: registry.active === r.id,
      })),
    'adapters.activate': async ({ id }) => ({ active: await registry.activate(id) }),
  };
}
