/**
 * Packaging with electron-builder, driven by the `builder` configuration in electron.config.ts.
 *
 *   npm run package                       installers for this OS (needs network: electron-builder
 *                                         downloads Electron and the installer tools)
 *   npm run package -- --dir              an unpacked app folder only
 *
 * The packaging test calls `packageApp` with `electronDist` pointed at a stub folder, which works
 * offline and produces the real app.asar layout.
 */
import { pathToFileURL } from 'node:url';
import { Arch, build, Platform, type Configuration } from 'electron-builder';
import { builder } from '../electron.config.js';

export interface PackageOptions {
  platform: 'linux' | 'win32' | 'darwin';
  arch?: 'x64' | 'arm64';
  /** Installer formats; 'dir' is an unpacked folder. Default: the platform's installers from the config. */
  targets?: string[];
  /** Where the output goes (default dist/). */
  output?: string;
  /** A folder with an Electron build to use instead of downloading one (the offline check uses a stub). */
  electronDist?: string;
  electronVersion?: string;
  /** Extra configuration merged over `builder` (the offline check turns off steps that download tools). */
  overrides?: Configuration;
}

const PLATFORMS = { linux: Platform.LINUX, win32: Platform.WINDOWS, darwin: Platform.MAC } as const;

export async function packageApp(options: PackageOptions): Promise<string[]> {
  const platform = PLATFORMS[options.platform];
  const arch = options.arch === 'arm64' ? Arch.arm64 : Arch.x64;
  const config: Configuration = {
    ...builder,
    directories: { ...builder.directories, ...(options.output ? { output: options.output } : {}) },
    ...(options.electronDist ? { electronDist: options.electronDist } : {}),
    ...(options.electronVersion ? { electronVersion: options.electronVersion } : {}),
    ...options.overrides,
  };
  return build({
    projectDir: new URL('..', import.meta.url).pathname,
    targets: platform.createTarget(options.targets ?? null, arch),
    config,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dirOnly = process.argv.includes('--dir');
  const platform = process.platform as PackageOptions['platform'];
  packageApp({ platform, arch: process.arch === 'arm64' ? 'arm64' : 'x64', ...(dirOnly ? { targets: ['dir'] } : {}) }).then(
    (files) => console.log(files.join('\n')),
    (err: unknown) => {
      console.error('kestrel package:', err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
