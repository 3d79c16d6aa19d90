/**
 * One build configuration: electron-vite builds the main process (with the CLI and server beside
 * it), the CommonJS preload and the Svelte renderer; the electron-builder configuration for the
 * installers is exported beside it as `builder`.
 */
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import type { Configuration } from 'electron-builder';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: { index: resolve(root, 'app/main/index.ts'), cli: resolve(root, 'app/cli/index.ts') },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // Sandboxed preloads load no node_modules and cannot be ES modules: bundle everything, emit CJS.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve(root, 'app/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [svelte()],
    resolve: { alias: { '@contract': resolve(root, 'app/contract') } },
    build: {
      outDir: resolve(root, 'out/renderer'),
      rollupOptions: { input: resolve(root, 'renderer/index.html') },
      // Every asset is a file of ours: 'self' in the CSP covers it; no data: URLs for scripts.
      assetsInlineLimit: 0,
    },
  },
});

export const builder: Configuration = {
  appId: 'org.kestrel.desktop',
  productName: 'Kestrel',
  directories: { output: 'dist', buildResources: 'build' },
  files: [
    'out/**',
    'package.json',
    '!**/*.map',
    // Only the target's onnxruntime-node binaries (${platform}/${arch} are electron-builder macros).
    '!node_modules/onnxruntime-node/bin/napi-v*/!(${platform})/**',
    '!node_modules/onnxruntime-node/bin/napi-v*/${platform}/!(${arch})/**',
    '!node_modules/onnxruntime-node/{lib,script}/**',
  ],
  // Native modules cannot be loaded from inside an asar archive.
  asarUnpack: ['**/*.node', 'node_modules/onnxruntime-node/bin/**'],
  extraResources: [{ from: 'resources', to: 'resources', filter: ['**/*'] }],
  npmRebuild: false,
  linux: { target: ['AppImage', 'deb'], category: 'Science' },
  win: { target: ['nsis'] },
  mac: { target: ['dmg'], category: 'public.app-category.productivity' },
};
