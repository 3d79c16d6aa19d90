/**
 * `npm start` on a machine without a desktop (this one, CI): the fallback serves the UI, and a real
 * Chromium shows the map shell from it, talking to the engine through the contract only.
 */
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopAvailability } from '../../app/cli/commands/start.js';
import { tempDir } from '../helpers/tmp.js';
import { artifacts, launchChromium, requireBuild, startKestrel, type Started } from './helpers.js';

describe('the map shell in Chromium, served by `kestrel start` without a desktop', () => {
  let dir: { path: string; remove(): Promise<void> };
  let app: Started;
  let browser: Browser;
  let page: Page;
  const offOrigin: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    requireBuild();
    await mkdir(artifacts, { recursive: true });
    dir = await tempDir();
    // One installed model pack (a tiny random open_clip model from the fixtures).
    await cp(new URL('../fixtures/model/packs/tiny-quickgelu', import.meta.url).pathname, join(dir.path, 'models', 'tiny-quickgelu'), { recursive: true });
    // Where Electron is installed (a developer's desktop), force the fallback this test is about.
    const env = desktopAvailability().available ? { KESTREL_NO_DESKTOP: '1' } : {};
    app = await startKestrel(['start', '--port', '0', '--data', dir.path], env);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const origin = new URL(app.url).origin;
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.origin !== origin) offOrigin.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await dir?.remove();
  });

  it('prints the URL with its token and one line saying why there is no desktop window', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{40,}$/);
    const why = app.stderr().split('\n').filter((l) => l.includes('no desktop window'));
    expect(why).toHaveLength(1);
    expect(why[0]).toMatch(/Serving the same UI to your browser instead/);
  });

  it('refuses the page without the token', async () => {
    const stranger = await browser.newPage();
    const res = await stranger.goto(new URL(app.url).origin + '/');
    expect(res?.status()).toBe(401);
    expect(await stranger.textContent('body')).toMatch(/Missing or wrong access token/);
    await stranger.close();
  });

  it('shows a full-window Leaflet map, the search bar and the side panel', async () => {
    await page.goto(app.url);
    await page.waitForSelector('main[data-ready="true"]');
    const map = await page.locator('.leaflet-container').boundingBox();
    expect(map).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
    // The bundled Natural Earth outline is drawn (one multi-polygon path with the world's coasts).
    expect((await page.locator('path.land').getAttribute('d'))?.length).toBeGreaterThan(5000);
    await expect.poll(() => page.getByRole('searchbox', { name: 'Search the archive by description' }).isVisible()).toBe(true);
    expect(await page.getByRole('complementary', { name: 'Side panel' }).isVisible()).toBe(true);
    expect(await page.getByText('No archives yet.').isVisible()).toBe(true);
    // The token leaves the address bar once the page has it.
    expect(page.url()).not.toContain('token=');
    await page.screenshot({ path: join(artifacts, 'shell-map.png') });
  });

  it('explains the starter model on first run, and remembers when the explanation is dismissed', async () => {
    const welcome = page.getByRole('region', { name: 'Welcome to Kestrel' });
    expect(await welcome.isVisible()).toBe(true);
    expect(await welcome.innerText()).toMatch(/GeoRSCLIP ViT-B\/32, zero-shot\s+35\.7\s+26\.2/);
    await page.screenshot({ path: join(artifacts, 'shell-welcome.png') });
    await welcome.getByRole('button', { name: 'Got it' }).click();
    await expect.poll(() => welcome.count()).toBe(0);
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    expect(await page.getByRole('region', { name: 'Welcome to Kestrel' }).count()).toBe(0);
  });

  it('reads app info and the execution providers through the contract', async () => {
    await page.getByRole('tab', { name: 'Models' }).click();
    const chips = await page.getByRole('list', { name: 'Execution providers' }).innerText();
    expect(chips).toContain('cpu');
    expect(chips).toContain('webgpu');
    await page.getByRole('tab', { name: 'About' }).click();
    expect(await page.locator('dd.path').innerText()).toBe(dir.path);
  });

  it('lists the installed model pack, loads it on request and shows the provider in use and why', async () => {
    await page.getByRole('tab', { name: 'Models' }).click();
    const packs = page.getByRole('list', { name: 'Model packs' });
    // The bundled starter model and the installed fixture pack.
    await expect.poll(() => packs.getByRole('listitem').count()).toBe(2);
    await packs.getByRole('listitem').filter({ hasText: 'Kestrel starter' }).getByRole('button', { name: 'Use' }).click();
    await expect.poll(() => page.locator('.state').getAttribute('data-state'), { timeout: 60_000 }).toBe('ready');
    expect(await page.locator('.state').innerText()).toMatch(/Ready on cpu · warm-up \d+ ms/);
    const tried = await page.getByRole('list', { name: 'Execution providers tried' }).innerText();
    expect(tried).toMatch(/cpu used/);
    await page.screenshot({ path: join(artifacts, 'shell-models.png') });
  });

  it('"/" focuses the search box, and a search says plainly what it still needs', async () => {
    await page.locator('.leaflet-container').click({ position: { x: 300, y: 500 } });
    await page.keyboard.press('/');
    const box = page.getByRole('searchbox', { name: 'Search the archive by description' });
    expect(await box.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await box.fill('storage tanks next to a harbour');
    await box.press('Enter');
    expect(await page.getByRole('status').first().innerText()).toMatch(/needs an indexed archive and a model pack/);
  });

  it('persists a setting through the engine: dark theme survives a reload', async () => {
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.screenshot({ path: join(artifacts, 'shell-dark.png') });
  });

  it('made no request to any other origin and logged no error (CSP included)', () => {
    expect(offOrigin).toEqual([]);
    expect(problems).toEqual([]);
  });
});
