/**
 * Which ONNX Runtime execution providers to try on this machine, in which order, and why the
 * others are left out. The first one whose sessions load is used; every skip and failure is kept
 * with its reason so the UI can say "CPU, because CUDA libraries are not installed".
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type ProviderName = 'tensorrt' | 'cuda' | 'dml' | 'coreml' | 'webgpu' | 'cpu';
export type ProviderPreference = 'auto' | ProviderName;

/** One provider's fate: tried and used, tried and failed, or not tried. */
export interface ProviderAttempt {
  provider: ProviderName;
  outcome: 'used' | 'failed' | 'skipped';
  reason: string;
}

export interface ProviderPlan {
  /** To try, in order; always ends with cpu. */
  candidates: ProviderName[];
  /** Left out before trying, with the reason. */
  skipped: ProviderAttempt[];
}

export interface Backend {
  name: string;
  bundled: boolean;
}

/** The fastest first, per platform; cpu is the last resort everywhere. */
export function autoOrder(platform: NodeJS.Platform): ProviderName[] {
  if (platform === 'win32') return ['tensorrt', 'cuda', 'dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['tensorrt', 'cuda', 'webgpu', 'cpu'];
}

const LIBRARY: Partial<Record<ProviderName, Record<string, string>>> = {
  cuda: { linux: 'libonnxruntime_providers_cuda.so', win32: 'onnxruntime_providers_cuda.dll' },
  tensorrt: { linux: 'libonnxruntime_providers_tensorrt.so', win32: 'onnxruntime_providers_tensorrt.dll' },
};

/** Whether the separately installed provider library sits beside onnxruntime-node's binding. */
export function providerLibraryPresent(provider: ProviderName, platform: NodeJS.Platform = process.platform): boolean {
  const lib = LIBRARY[provider]?.[platform];
  if (!lib) return false;
  try {
    const require = createRequire(import.meta.url);
    const binDir = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
    for (const napi of readdirSync(binDir)) {
      if (existsSync(join(binDir, napi, platform, process.arch, lib))) return true;
    }
  } catch {
    return false;
  }
  return false;
}

/**
 * The providers to try. `auto` follows autoOrder; a named preference is tried first, then cpu.
 * Providers onnxruntime-node does not offer here, or whose libraries are missing, are skipped.
 */
export function planProviders(
  preference: ProviderPreference,
  backends: readonly Backend[],
  platform: NodeJS.Platform = process.platform,
  libraryPresent: (p: ProviderName) => boolean = (p) => providerLibraryPresent(p, platform),
): ProviderPlan {
  const wanted: ProviderName[] = preference === 'auto' ? autoOrder(platform) : preference === 'cpu' ? ['cpu'] : [preference, 'cpu'];
  const candidates: ProviderName[] = [];
  const skipped: ProviderAttempt[] = [];
  for (const provider of wanted) {
    const backend = backends.find((b) => b.name === provider);
    if (provider !== 'cpu' && !backend) {
      skipped.push({ provider, outcome: 'skipped', reason: `onnxruntime-node has no ${provider} provider on ${platform}-${process.arch}` });
      continue;
    }
    if (backend && !backend.bundled && !libraryPresent(provider)) {
      skipped.push({
        provider,
        outcome: 'skipped',
        reason: `the ${provider} provider libraries are not installed (install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 and the CUDA/cuDNN${provider === 'tensorrt' ? '/TensorRT' : ''} runtime)`,
      });
      continue;
    }
    candidates.push(provider);
  }
  if (!candidates.includes('cpu')) candidates.push('cpu');
  return { candidates, skipped };
}

/** The first line of an ONNX Runtime error, without its source-file prefix. */
export function shortReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n')[0] ?? text;
  return line.replace(/^\/onnxruntime_src\/\S+\s+/, '').replace(/^.*?\bwas false\.\s*/, '').slice(0, 300);
}
