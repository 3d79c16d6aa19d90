/**
 * Stub Electron distributions for the offline packaging check. They are not Electron: they carry
 * just what electron-builder reads and rewrites, so the real packaging steps run on them: the
 * executable's name, a Windows PE with version info, macOS bundles with Info.plist files, and the
 * fuse wire (sentinel + version + states), so the fuses our config sets can be read back.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ResEdit from 'resedit';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Fuse wire v1 with 9 fuses, every one the opposite of what Kestrel asks, so a flip is visible. */
export const STUB_WIRE = Buffer.concat([Buffer.from(SENTINEL), Buffer.from([1, 9]), Buffer.from('101100110')]);

function windowsExe(): Buffer {
  const exe = ResEdit.NtExecutable.createEmpty(false, false);
  const res = ResEdit.NtExecutableResource.from(exe);
  const info = ResEdit.Resource.VersionInfo.createEmpty();
  info.setFileVersion(41, 0, 0, 0, 1033);
  info.setProductVersion(41, 0, 0, 0, 1033);
  info.setStringValues({ lang: 1033, codepage: 1200 }, { ProductName: 'Electron', FileDescription: 'Electron' });
  info.outputToResourceEntries(res.entries);
  res.outputResource(exe);
  exe.setExtraData(STUB_WIRE);
  return Buffer.from(exe.generate());
}

const plist = (name: string, id: string): string => `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>CFBundleExecutable</key><string>${name}</string><key>CFBundleIdentifier</key><string>${id}</string>
<key>CFBundleName</key><string>${name}</string><key>CFBundleDisplayName</key><string>${name}</string>
<key>CFBundleVersion</key><string>41.0.0</string><key>CFBundleShortVersionString</key><string>41.0.0</string>
</dict></plist>`;

export async function makeStubElectron(dir: string, platform: 'linux' | 'win32' | 'darwin'): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (platform === 'linux') {
    await writeFile(join(dir, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n'), STUB_WIRE]), { mode: 0o755 });
  } else if (platform === 'win32') {
    await writeFile(join(dir, 'electron.exe'), windowsExe());
  } else {
    const contents = join(dir, 'Electron.app', 'Contents');
    await mkdir(join(contents, 'MacOS'), { recursive: true });
    await mkdir(join(contents, 'Resources'), { recursive: true });
    await writeFile(join(contents, 'Info.plist'), plist('Electron', 'com.github.Electron'));
    await writeFile(join(contents, 'MacOS', 'Electron'), 'stub', { mode: 0o755 });
    const framework = join(contents, 'Frameworks', 'Electron Framework.framework');
    await mkdir(join(framework, 'Versions', 'A', 'Resources'), { recursive: true });
    await writeFile(join(framework, 'Electron Framework'), STUB_WIRE);
    for (const helper of ['Electron Helper', 'Electron Helper (GPU)', 'Electron Helper (Renderer)', 'Electron Helper (Plugin)']) {
      const c = join(contents, 'Frameworks', `${helper}.app`, 'Contents');
      await mkdir(join(c, 'MacOS'), { recursive: true });
      await writeFile(join(c, 'Info.plist'), plist(helper, 'com.github.Electron.helper'));
      await writeFile(join(c, 'MacOS', helper), 'stub', { mode: 0o755 });
    }
  }
  return dir;
}
