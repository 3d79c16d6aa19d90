/** The search.* methods of the contract: text → chips, chip → similar chips, chip → suggested captions. */
import { KestrelError, type Handlers, type Settings } from '../../contract/index.js';
import type { CaptionBank } from '../captions/index.js';
import type { ModelRuntime } from '../model/index.js';
import type { ImageAdapter, SearchService } from './index.js';

type ActiveModel = { id: string; runtime: ModelRuntime; dim: number };

export interface SearchHandlerDeps {
  search: SearchService;
  settings: { get(): Settings };
  /** The active pack's manifest, to name the model (and its vocabulary) when a query means nothing to it. */
  activeManifest(): { name: string; provenance?: unknown } | undefined;
  activeModel(requested?: string): Promise<ActiveModel>;
  /** The active adapter, when it was tuned on this model. */
  adapterFor(modelId: string, dim: number): Promise<{ text(q: Float32Array): Promise<Float32Array>; image: ImageAdapter } | undefined>;
  /** The caption bank and how a chip is ranked against it (captions/bank.ts). */
  bank: CaptionBank;
  bestCaptions(vector: Float32Array, bank: { texts: string[]; embeddings: Float32Array; dim: number }, k: number): { text: string; similarity: number; score: number }[];
}

export function searchHandlers(deps: SearchHandlerDeps): Pick<Handlers, 'search.query' | 'search.similar' | 'search.suggestCaptions'> {
  const { search, settings, activeModel } = deps;
  async function chipVector(chipId: string, model?: string): Promise<{ m: ActiveModel; ref: Awaited<ReturnType<SearchService['chip']>> }> {
    const m = await activeModel(model);
    return { m, ref: await search.chip(chipId, m.id) };
  }
  return {
    'search.query': async ({ text, model, ...filter }) => {
      const m = await activeModel(model);
      const [q] = await m.runtime.embedTexts([text]);
      if (q!.every((v) => v === 0)) {
        // A query the model has no word for (the starter model knows a fixed vocabulary).
        const manifest = deps.activeManifest();
        const vocabulary = (manifest?.provenance as { vocabulary?: string[] } | undefined)?.vocabulary;
        throw new KestrelError({
          code: 'invalid_input',
          message: `None of the words in “${text}” mean anything to the model “${manifest?.name ?? m.id}”.`,
          hint: vocabulary ? `It knows these words: ${vocabulary.join(', ')}. Import a CLIP-family model for free text.` : 'Try other words.',
        });
      }
      // The active adapter, when it was tuned on this model: the query through its text side, the chips through its image side.
      const adapted = await deps.adapterFor(m.id, m.dim);
      if (!adapted) return search.search(m.id, q!, { topK: settings.get().searchTopK, ...filter });
      return search.search(m.id, await adapted.text(q!), { topK: settings.get().searchTopK, ...filter }, { adapter: adapted.image });
    },
    'search.similar': async ({ chipId, model, ...filter }) => {
      const { m, ref } = await chipVector(chipId, model);
      return search.search(m.id, ref.vector, { topK: settings.get().searchTopK, ...filter }, { exclude: ref.ref });
    },
    'search.suggestCaptions': async ({ chipId, topK }) => {
      const { m, ref } = await chipVector(chipId);
      const texts = await deps.bank.captions();
      if (texts.length === 0) return { captions: [], bankSize: 0 };
      const embeddings = await deps.bank.embeddings(m.id, m.dim, (t) => m.runtime.embedTexts(t));
      return { captions: deps.bestCaptions(ref.vector, { texts, embeddings, dim: m.dim }, topK ?? 5), bankSize: texts.length };
    },
  };
}
