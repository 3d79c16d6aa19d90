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
        input: {
          index: resolve(root, 'app/main/index.ts'),
          cli: resolve(root, 'app/cli/index.ts'),
          'workers/engine': resolve(root, 'app/workers/engine.ts'),
          'workers/inference': resolve(root, 'app/workers/inference.ts'),
          'workers/tiles': resolve(root, 'app/workers/tiles.ts'),
          'workers/tune': resolve(root, 'app/workers/tune.ts'),
          'workers/chips': resolve(root, 'app/workers/chips.ts'),
          'workers/import': resolve(root, 'app/workers/import.ts'),
        },
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

/**
 * What goes into app.asar for one target OS: the build output and package.json (production
 * dependencies are added by electron-builder), and only that OS's onnxruntime-node binaries for the
 * target arch (`${arch}` is an electron-builder macro; the OS is spelled as onnxruntime spells it).
 */
const appFiles = (ortOs: 'linux' | 'win32' | 'darwin'): string[] => [
  'out/**',
  'package.json',
  '!**/*.map',
  `!node_modules/onnxruntime-node/bin/napi-v*/!(${ortOs})/**`,
  `!node_modules/onnxruntime-node/bin/napi-v*/${ortOs}/!(\${arch})/**`,
  '!node_modules/onnxruntime-node/{lib,script}/**',
];

export const builder: Configuration = {
  appId: 'org.kestrel.desktop',
  productName: 'Kestrel',
  directories: { output: 'dist', buildResources: 'build' },
  // Native modules cannot be loaded from inside an asar archive.
  // sharp's libvips is a shared library beside its .node file: both must be real files too.
  asarUnpack: ['**/*.node', 'node_modules/onnxruntime-node/bin/**', 'node_modules/sharp/**', 'node_modules/@img/**'],
  extraResources: [{ from: 'resources', to: 'resources', filter: ['**/*'] }],
  npmRebuild: false,
  // Electron fuses, flipped in the packaged binary: no ELECTRON_RUN_AS_NODE, NODE_OPTIONS or
  // --inspect to hijack the app; cookies encrypted; app code only from an integrity-checked asar.
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: { target: ['AppImage', 'deb'], category: 'Science', files: appFiles('linux') },
  win: { target: ['nsis'], files: appFiles('win32') },
  mac: { target: ['dmg'], category: 'public.app-category.productivity', files: appFiles('darwin') },
};
