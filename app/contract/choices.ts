/**
 * Fixed lists of choices the contract offers, free of any schema library so that the renderer can show
 * them without bundling zod (`schema.ts` builds its enums from them).
 */

/** The architectures a checkpoint import knows by name (app/core/model/import/architectures.ts; a unit test keeps the two equal). */
export const IMPORT_ARCHITECTURES = [
  'ViT-B-32',
  'ViT-B-32-quickgelu',
  'ViT-B-16',
  'ViT-B-16-quickgelu',
  'ViT-L-14',
  'ViT-L-14-quickgelu',
  'ViT-L-14-336',
  'ViT-L-14-336-quickgelu',
  'ViT-H-14',
] as const;

/** How a checkpoint's tensors are named (app/core/model/import/layouts.ts `Layout`). */
export const IMPORT_LAYOUTS = ['open_clip', 'hf', 'harma'] as const;

/** How an imported pack stores its weights (app/core/model/import/graph.ts `Precision`); fp32 is the default. */
export const IMPORT_PRECISIONS = ['fp32', 'fp16', 'int8'] as const;

/** The towers' activation (app/core/model/import/architectures.ts `Activation`). */
export const IMPORT_ACTIVATIONS = ['quick_gelu', 'gelu'] as const;
