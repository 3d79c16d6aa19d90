/**
 * `npm start` on a machine without a desktop (this one, CI): the fallback serves the UI, and a real
 * Chromium drives it against the real engine, through the contract only. A new data folder is a first
 * run: the starter model is active and the demo archive indexes by itself, so the main job (search,
 * see hits on the map, fly to one) runs end to end. Screenshots of every panel land in
 * tests/artifacts/.
 */
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopAvailability } from '../../app/cli/commands/start.js';
import { worldTiles, writeMbtiles } from '../helpers/basemap.js';
import { tempDir } from '../helpers/tmp.js';
import { artifacts, launchChromium, requireBuild, startKestrel, type Started } from './helpers.js';

describe('the app in Chromium, served by `kestrel start` without a desktop', () => {
  let dir: { path: string; remove(): Promise<void> };
  let app: Started;
  let browser: Browser;
  let page: Page;
  const offOrigin: string[] = [];
  const problems: string[] = [];
  const searchBox = (): ReturnType<Page['getByRole']> => page.getByRole('combobox', { name: 'Search the archive by description' });
  const hits = (): ReturnType<Page['locator']> => page.getByRole('list', { name: 'Search results' }).getByRole('listitem');

  beforeAll(async () => {
    requireBuild();
    await mkdir(artifacts, { recursive: true });
    dir = await tempDir();
    // One installed model pack besides the bundled starter (a tiny random open_clip model).
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
      // The calls meant to fail (a query with no known word, a basemap folder without tiles; answered 400) are not problems.
      if (m.text().includes('status of 400') && (m.location().url.endsWith('/api/search.query') || m.location().url.endsWith('/api/settings.set'))) return;
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()} (${m.location().url})`);
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
    // The bundled Natural Earth outline is drawn (a basemap needs no network).
    expect((await page.locator('path.land').getAttribute('d'))?.length).toBeGreaterThan(20);
    expect(await searchBox().isVisible()).toBe(true);
    expect(await page.getByRole('complementary', { name: 'Side panel' }).isVisible()).toBe(true);
    // The token leaves the address bar once the page has it.
    expect(page.url()).not.toContain('token=');
  });

  it('explains the starter model on first run, and remembers when the explanation is dismissed', async () => {
    const welcome = page.getByRole('region', { name: 'Welcome to Kestrel' });
    expect(await welcome.isVisible()).toBe(true);
    expect(await welcome.innerText()).toMatch(/GeoRSCLIP ViT-B\/32, zero-shot\s+35\.7\s+26\.2/);
    await page.screenshot({ path: join(artifacts, 'first-run-welcome.png') });
    await welcome.getByRole('button', { name: 'Got it' }).click();
    await expect.poll(() => welcome.count()).toBe(0);
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    expect(await page.getByRole('region', { name: 'Welcome to Kestrel' }).count()).toBe(0);
  });

  it('opens on the demo archive, indexed at first start with progress, footprints and imagery on the map', async () => {
    await page.getByRole('tab', { name: 'Archives' }).click();
    const archive = page.getByRole('list', { name: 'Archives' }).getByRole('listitem').first();
    expect(await archive.innerText()).toMatch(/Demo archive/);
    await expect.poll(() => archive.locator('.job').getAttribute('data-state'), { timeout: 120_000 }).toBe('done');
    expect(await archive.innerText()).toMatch(/2\/2 scenes/);
    await expect.poll(() => page.locator('path.footprint').count(), { timeout: 10_000 }).toBe(2);
    // The map opened on the demo scenes: both footprints are in view.
    const view = (await page.locator('.leaflet-container').boundingBox())!;
    for (const fp of await page.locator('path.footprint').all()) {
      const b = (await fp.boundingBox())!;
      expect(b.x).toBeGreaterThanOrEqual(view.x - 1);
      expect(b.y + b.height).toBeLessThanOrEqual(view.y + view.height + 1);
    }
    await page.screenshot({ path: join(artifacts, 'panel-archives.png') });
  });

  it('shows the active starter model, the provider in use and why the others were not', async () => {
    await page.getByRole('tab', { name: 'Models' }).click();
    const packs = page.getByRole('list', { name: 'Model packs' }).getByRole('listitem');
    await expect.poll(() => packs.count()).toBe(2);
    expect(await packs.filter({ hasText: 'Kestrel starter' }).innerText()).toMatch(/active/);
    await expect.poll(() => page.locator('.state').getAttribute('data-state'), { timeout: 60_000 }).toBe('ready');
    expect(await page.locator('.state').innerText()).toMatch(/Ready on cpu · warm-up \d+ ms/);
    expect(await page.getByRole('list', { name: 'Execution providers tried' }).innerText()).toMatch(/cpu used/);
    await page.screenshot({ path: join(artifacts, 'panel-models.png') });
  });

  it('"/" focuses the search box; a query the model has no word for is explained with its vocabulary', async () => {
    await page.locator('.leaflet-container').click({ position: { x: 600, y: 650 } });
    await page.keyboard.press('/');
    expect(await searchBox().evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await searchBox().fill('storage tanks near the quay');
    await searchBox().press('Enter');
    await expect.poll(() => page.getByRole('status').first().innerText()).toMatch(/None of the words.*It knows these words: water, lake/);
  });

  it('searches "water": hits listed with thumbnails, outlined on the map with their rank, the reservoir first', async () => {
    await searchBox().fill('water');
    await searchBox().press('Enter');
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBeGreaterThan(2);
    expect(await page.locator('.leaflet-tooltip.rank').count()).toBe(await hits().count());
    expect(await hits().first().getByRole('button').first().getAttribute('aria-label')).toMatch(/Hit 1: cbers_rgb342_crop1\.tif/);
    // Thumbnails are real images rendered by the engine.
    await expect.poll(() => hits().first().locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await page.screenshot({ path: join(artifacts, 'panel-results.png') });
  });

  it('clicking a hit flies the map to it, and j / k step through the hits', async () => {
    const map = (await page.locator('.leaflet-container').boundingBox())!;
    const offset = (rank: number) => async (): Promise<number> => {
      const label = (await page.locator('.leaflet-tooltip.rank', { hasText: new RegExp(`^#${rank}$`) }).boundingBox())!;
      return Math.hypot(label.x + label.width / 2 - (map.x + map.width / 2), label.y + label.height / 2 - (map.y + map.height / 2));
    };
    await hits().nth(2).getByRole('button').first().click();
    await expect.poll(offset(3), { timeout: 10_000 }).toBeLessThan(40);
    await page.screenshot({ path: join(artifacts, 'map-hit.png') });
    await page.locator('.leaflet-container').click({ position: { x: 600, y: 690 } });
    await page.keyboard.press('j');
    await expect.poll(offset(4), { timeout: 10_000 }).toBeLessThan(40);
  });

  it('edits the selected hit\'s captions with the keyboard, with history and undo, and they survive a reload', async () => {
    await page.getByRole('tab', { name: 'Results' }).click();
    const selectedLabel = await page.getByRole('list', { name: 'Search results' }).locator('li.selected button').first().getAttribute('aria-label');
    await page.getByRole('tab', { name: 'Captions' }).click();
    const box = page.getByRole('textbox', { name: 'New caption for the selected chip' });
    await box.fill('a reservoir between green fields');
    await box.press('Enter');
    const list = page.getByRole('list', { name: 'Captions of the selected hit' });
    await expect.poll(() => list.innerText()).toMatch(/a reservoir between green fields[\s\S]*written by a person/);
    await list.getByRole('button', { name: 'Edit' }).first().click();
    const edit = page.getByRole('textbox', { name: 'Edit caption (Enter saves, Escape cancels)' });
    await edit.fill('a dark reservoir between green fields');
    await edit.press('Enter');
    await expect.poll(() => list.innerText()).toMatch(/a dark reservoir/);
    await list.getByRole('button', { name: 'Undo' }).first().click();
    await expect.poll(() => list.innerText()).toMatch(/^a reservoir between green fields/);
    await list.getByRole('button', { name: 'History' }).first().click();
    expect(await list.getByRole('list', { name: 'History' }).innerText()).toMatch(/add by person[\s\S]*edit by person[\s\S]*undo by person/);
    await page.screenshot({ path: join(artifacts, 'panel-captions.png') });
    // After a reload the same hit shows the caption as the undo left it.
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await searchBox().fill('water');
    await searchBox().press('Enter');
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBeGreaterThan(2);
    await page.getByRole('button', { name: selectedLabel! }).click();
    await page.getByRole('tab', { name: 'Captions' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Captions of the selected hit' }).innerText()).toMatch(/^a reservoir between green fields/);
  });

  it('starts a re-tune on the archive\'s captions: the chart draws, a version is registered and activated', async () => {
    // Ten more captioned chips through the contract (the tune needs ten images).
    const captioned = await page.evaluate(async () => {
      const post = async (method: string, body: unknown): Promise<unknown> =>
        (await fetch(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
      const words = ['water', 'forest', 'fields', 'city', 'beach', 'vegetation', 'buildings', 'road', 'sand', 'clouds'];
      const done = new Set<string>();
      for (const w of words) {
        const r = (await post('search.query', { text: w, topK: 10 })) as { hits: { chipId: string }[] };
        for (const h of r.hits.filter((x) => !done.has(x.chipId)).slice(0, 2)) {
          await post('captions.add', { target: { chipId: h.chipId }, text: `mostly ${w}` });
          done.add(h.chipId);
        }
      }
      return done.size;
    });
    expect(captioned).toBeGreaterThanOrEqual(10);
    await page.getByRole('tab', { name: 'Tuning' }).click();
    await page.getByRole('spinbutton', { name: 'Epochs' }).fill('6');
    await page.getByRole('button', { name: 'Start re-tune' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /epoch/ }).first().innerText(), { timeout: 30_000 }).toMatch(/running|done/);
    const chart = page.getByRole('img', { name: 'Training loss and validation mR per epoch' });
    await expect.poll(async () => ((await chart.locator('polyline.loss').getAttribute('points')) ?? '').split(' ').length, { timeout: 60_000 }).toBeGreaterThan(1);
    const versions = page.getByRole('table', { name: 'Adapter versions' });
    await expect.poll(() => versions.getByRole('row').count(), { timeout: 60_000 }).toBe(2);
    await versions.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(() => versions.getByRole('button', { name: 'Deactivate' }).count()).toBe(1);
    await page.screenshot({ path: join(artifacts, 'panel-tuning.png') });
  });

  it('the score cut-off hides weak hits from the list and the map at once', async () => {
    await page.getByRole('tab', { name: 'Results' }).click();
    await searchBox().fill('water');
    await searchBox().press('Enter');
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBeGreaterThan(2);
    const before = await hits().count();
    await page.getByRole('slider', { name: 'Score cut-off' }).fill('3');
    await expect.poll(() => hits().count()).toBeLessThan(before);
    const shown = await hits().count();
    await expect.poll(() => page.locator('.leaflet-tooltip.rank').count()).toBe(shown);
  });

  it('remembers the queries in a search history offered by the search box', async () => {
    expect(await page.locator('#search-history option[value="water"]').count()).toBe(1);
    expect(await searchBox().getAttribute('list')).toBe('search-history');
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

  it('shows a local MBTiles basemap set in the Settings tab, explains one that cannot be used, and goes back to none', async () => {
    // A small world basemap: zoom 0 to 3, each tile a flat colour with a grid.
    const file = join(dir.path, 'basemap', 'grid-world.mbtiles');
    await mkdir(join(dir.path, 'basemap', 'no-tiles'), { recursive: true });
    writeMbtiles(file, await worldTiles(3), { name: 'Grid world', format: 'png', minzoom: '0', maxzoom: '3', bounds: '-180,-85.0511,180,85.0511', attribution: '<a href="https://example.org">Kestrel test tiles</a>' });

    await page.getByRole('tab', { name: 'Settings' }).click();
    const source = page.getByLabel('Basemap source');
    await source.selectOption('xyz');
    await page.getByLabel('Basemap tile folder').fill(join(dir.path, 'basemap', 'no-tiles'));
    await page.getByRole('button', { name: 'Apply' }).click();
    const alert = page.getByRole('form', { name: 'Basemap' }).locator('xpath=following-sibling::p[@role="alert"]');
    await expect.poll(() => alert.textContent()).toMatch(/contains no XYZ tiles/);
    expect(await page.locator('.basemap-tiles').count()).toBe(0);

    await source.selectOption('mbtiles');
    await page.getByLabel('Basemap MBTiles file').fill(file);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByLabel('Current basemap').textContent()).toMatch(/Grid world.*MBTiles.*PNG.*zoom 0–3/s);
    expect(await alert.count()).toBe(0);

    // Out to the whole world (the zoom-out button is disabled at the map's minimum, 1), then in to zoom 2: the whole grid world in view.
    const zoomOut = page.locator('.leaflet-control-zoom-out');
    for (let i = 0; i < 25 && !((await zoomOut.getAttribute('class')) ?? '').includes('leaflet-disabled'); i++) {
      await zoomOut.click();
      await page.waitForTimeout(300);
    }
    await page.locator('.leaflet-control-zoom-in').click();
    await page.waitForTimeout(400);
    const loaded = (): Promise<string[]> =>
      page
        .locator('.basemap-tiles img')
        .evaluateAll((imgs) => (imgs as HTMLImageElement[]).filter((i) => i.complete && i.naturalWidth > 0).map((i) => new URL(i.src).pathname));
    await expect.poll(async () => (await loaded()).filter((p) => p.startsWith('/basemap/2/')).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(8);
    expect((await loaded()).every((p) => /^\/basemap\/\d+\/\d+\/\d+$/.test(p))).toBe(true);
    // Attribution as text: the file's link is not a link on the page.
    const attribution = page.locator('.leaflet-control-attribution');
    expect(await attribution.textContent()).toContain('Kestrel test tiles');
    expect(await attribution.locator('a[href="https://example.org"]').count()).toBe(0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(artifacts, 'map-basemap.png') });

    await source.selectOption('none');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('.basemap-tiles').count()).toBe(0);
    expect(await page.getByLabel('Current basemap').count()).toBe(0);
    expect(await attribution.textContent()).not.toContain('Kestrel test tiles');
  });

  it('made no request to any other origin and logged no error (CSP included)', () => {
    expect(offOrigin).toEqual([]);
    expect(problems).toEqual([]);
  });
});
