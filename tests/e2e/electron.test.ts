/**
 * The real desktop app through Playwright's Electron driver. Electron's binary cannot be downloaded
 * on these machines, so here the test skips itself and says why; where the binary exists (a
 * developer's desktop after `npm run setup`) it launches the built app and checks the window.
 */
import { createRequire } from 'node:module';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { desktopAvailability } from '../../app/cli/commands/start.js';
import { tempDir } from '../helpers/tmp.js';
import { requireBuild, root } from './helpers.js';

const desktop = desktopAvailability({ ...process.env, KESTREL_NO_DESKTOP: '' });
if (!desktop.available) console.log(`Electron smoke test skipped: ${desktop.reason}.`);

describe.skipIf(!desktop.available)('the desktop app (Electron)', () => {
  it('opens one sandboxed window on the map, with window.kestrel and nothing of Node', async () => {
    requireBuild();
    const dir = await tempDir();
    const executablePath = createRequire(import.meta.url)('electron') as string;
    const app = await electron.launch({ executablePath, args: [root], env: { ...process.env, KESTREL_DATA: dir.path } });
    try {
      const page = await app.firstWindow();
      await page.waitForSelector('main[data-ready="true"]');
      expect(page.url()).toBe('app://kestrel/index.html');
      expect(await page.locator('.leaflet-container').count()).toBe(1);
      const surface = await page.evaluate(() => ({
        kestrel: Object.keys((globalThis as { kestrel?: object }).kestrel ?? {}).sort(),
        require: typeof (globalThis as { require?: unknown }).require,
        process: typeof (globalThis as { process?: unknown }).process,
      }));
      expect(surface).toEqual({ kestrel: ['call', 'on'], require: 'undefined', process: 'undefined' });
      const info = await page.evaluate(() => (globalThis as unknown as { kestrel: { call(m: string, i: object): Promise<{ runtime: string }> } }).kestrel.call('app.info', {}));
      expect(info.runtime).toBe('desktop');
      expect(app.windows()).toHaveLength(1);
    } finally {
      await app.close();
      await dir.remove();
    }
  });
});
