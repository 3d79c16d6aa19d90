/**
 * The map fits to the hits only when a new result set arrives: moving the score cut-off keeps the
 * view the user panned and zoomed to; a new search frames its hits again. A real Chromium drives the
 * built app served by `kestrel start` on a new data folder (its demo archive indexes by itself).
 */
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopAvailability } from '../../app/cli/commands/start.js';
import { tempDir } from '../helpers/tmp.js';
import { artifacts, launchChromium, requireBuild, startKestrel, type Started } from './helpers.js';

describe('the map keeps the user\'s view when the score cut-off moves', () => {
  let dir: { path: string; remove(): Promise<void> };
  let app: Started;
  let browser: Browser;
  let page: Page;
  const searchBox = (): ReturnType<Page['getByRole']> => page.getByRole('combobox', { name: 'Search the archive by description' });
  const hits = (): ReturnType<Page['locator']> => page.getByRole('list', { name: 'Search results' }).getByRole('listitem');
  /** Runs a search from the search box and waits until its answer is on screen (the panel names the query, nothing is in flight). */
  const searchFor = async (text: string): Promise<void> => {
    await searchBox().fill(text);
    await searchBox().press('Enter');
    await expect.poll(() => page.locator('.results-query').innerText().catch(() => ''), { timeout: 30_000 }).toBe(`for “${text}”`);
    await expect.poll(() => page.locator('main').getAttribute('aria-busy'), { timeout: 30_000 }).toBe('false');
  };
  /** The coordinates under the cursor at two points of the map: together they pin down its centre and zoom. */
  const view = async (): Promise<string[]> => {
    const box = (await page.locator('.leaflet-container').boundingBox())!;
    const read: string[] = [];
    for (const [x, y] of [
      [300, 400],
      [700, 600],
    ] as const) {
      await page.mouse.move(box.x + x, box.y + y);
      read.push(await page.getByLabel('Coordinates under the cursor').innerText());
    }
    return read;
  };

  beforeAll(async () => {
    requireBuild();
    await mkdir(artifacts, { recursive: true });
    dir = await tempDir();
    const env = desktopAvailability().available ? { KESTREL_NO_DESKTOP: '1' } : {};
    app = await startKestrel(['start', '--port', '0', '--data', dir.path], env);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await dir?.remove();
  });

  it('opens on the demo archive once it is indexed', async () => {
    await page.goto(app.url);
    await page.waitForSelector('main[data-ready="true"]');
    const welcome = page.getByRole('region', { name: 'Welcome to Kestrel' });
    if (await welcome.isVisible()) await welcome.getByRole('button', { name: 'Got it' }).click();
    await page.getByRole('tab', { name: 'Archives' }).click();
    const archive = page.getByRole('list', { name: 'Archives' }).getByRole('listitem').first();
    await expect.poll(() => archive.locator('.job').getAttribute('data-state'), { timeout: 120_000 }).toBe('done');
  });

  it('a search fits the map to its hits; panned and zoomed, the cut-off moves without moving the map; a new search fits again', async () => {
    await page.getByRole('tab', { name: 'Results' }).click();
    await searchFor('water');
    expect(await hits().count()).toBeGreaterThan(2);
    const fitted = await view();

    // The user zooms in and pans.
    await page.locator('.leaflet-control-zoom-in').click();
    await page.waitForTimeout(500);
    const map = (await page.locator('.leaflet-container').boundingBox())!;
    await page.mouse.move(map.x + 400, map.y + 500);
    await page.mouse.down();
    await page.mouse.move(map.x + 480, map.y + 440, { steps: 8 });
    await page.mouse.up();
    await page.waitForTimeout(500);
    const panned = await view();
    expect(panned).not.toEqual(fitted);

    // The cut-off hides weak hits, from the list and the map, and the view stays where the user put it.
    const before = await hits().count();
    await page.getByRole('slider', { name: 'Score cut-off' }).fill('3');
    await expect.poll(() => hits().count()).toBeLessThan(before);
    await expect.poll(() => page.locator('.leaflet-tooltip.rank').count()).toBe(await hits().count());
    await page.waitForTimeout(700);
    expect(await view()).toEqual(panned);
    await page.getByRole('slider', { name: 'Score cut-off' }).fill('0');
    await expect.poll(() => hits().count()).toBe(before);
    await page.waitForTimeout(700);
    expect(await view()).toEqual(panned);

    // A new search (a new result set) frames its hits again: the view the first search fitted to.
    await searchFor('water');
    await expect.poll(view, { timeout: 10_000 }).toEqual(fitted);
  });
});
