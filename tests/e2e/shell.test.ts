/**
 * `npm start` on a machine without a desktop (this one, CI): the fallback serves the UI, and a real
 * Chromium drives it against the real engine, through the contract only. A new data folder is a first
 * run: the starter model is active and the demo archive indexes by itself, so the main job (search,
 * see hits on the map, fly to one) runs end to end. Screenshots of every panel land in
 * tests/artifacts/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desktopAvailability } from '../../app/cli/commands/start.js';
import { worldTiles, writeMbtiles } from '../helpers/basemap.js';
import { tempDir } from '../helpers/tmp.js';
import { artifacts, launchChromium, requireBuild, startKestrel, type Started } from './helpers.js';

/** The shared real data, read in place (never copied). */
const sharedData = resolve(new URL('../../..', import.meta.url).pathname, 'shared', 'data');
/** The shared real rasters, read in place through links (never copied). */
const sharedGeotiff = join(sharedData, 'geotiff');
if (!existsSync(sharedGeotiff)) console.log(`${sharedData} is absent: the tests that build archives from it or import its caption bank are skipped.`);

describe('the app in Chromium, served by `kestrel start` without a desktop', () => {
  let dir: { path: string; remove(): Promise<void> };
  let app: Started;
  let browser: Browser;
  let page: Page;
  const offOrigin: string[] = [];
  const problems: string[] = [];
  const searchBox = (): ReturnType<Page['getByRole']> => page.getByRole('combobox', { name: 'Search the archive by description' });
  const hits = (): ReturnType<Page['locator']> => page.getByRole('list', { name: 'Search results' }).getByRole('listitem');
  /**
   * Where the map centres what it frames: the middle of the part not under the search bar (100 px)
   * and the open side panel (416 px).
   */
  const frameCentre = (map: { x: number; y: number; width: number; height: number }): { x: number; y: number } => ({
    x: map.x + (map.width - 416) / 2,
    y: map.y + (map.height + 100) / 2,
  });
  /** Runs a search from the search box and waits until its answer is on screen (the panel names the query, nothing is in flight). */
  const searchFor = async (text: string): Promise<void> => {
    await searchBox().fill(text);
    await searchBox().press('Enter');
    await expect.poll(() => page.locator('.results-query').innerText().catch(() => ''), { timeout: 30_000 }).toBe(`for “${text}”`);
    await expect.poll(() => page.locator('main').getAttribute('aria-busy'), { timeout: 30_000 }).toBe('false');
  };
  /** Accessibility problems axe-core finds (WCAG 2.1 A and AA), per screen audited. */
  const a11y: string[] = [];
  const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const audit = async (screen: string): Promise<void> => {
    // Injected through the debugging protocol, which the page's CSP does not govern (the app itself loads nothing like it).
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return r.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 4).join(', ')})`);
    });
    a11y.push(...found.map((f) => `${screen}: ${f}`));
  };
  /** Every scene tile the map asked for has arrived (for screenshots of the imagery). */
  const tilesLoaded = (): Promise<boolean> =>
    page.evaluate(() => {
      const tiles = [...document.querySelectorAll('.scene-tiles img')];
      return tiles.length > 0 && tiles.every((t) => t.classList.contains('leaflet-tile-loaded'));
    });

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
      // Nor is the add whose scan the test cancels (answered 409, cancelled).
      if (m.text().includes('status of 409') && m.location().url.endsWith('/api/archives.add')) return;
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
    // The bundled Natural Earth outline is drawn (a basemap needs no network): the coast by the demo
    // scenes, where the map opens, puts land across a good part of the view.
    const land = (await page.locator('path.land').boundingBox())!;
    expect(Math.min(land.x + land.width, 1280) - Math.max(land.x, 0)).toBeGreaterThan(200);
    expect(Math.min(land.y + land.height, 720) - Math.max(land.y, 0)).toBeGreaterThan(200);
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
    await audit('first-run-welcome');
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
    await audit('panel-archives');
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
    await audit('panel-models');
  });

  it.skipIf(!existsSync(sharedGeotiff))('adds a small archive the test builds from ../shared/data, by path in the Archives panel: index progress with ETA, then done', { timeout: 180_000 }, async () => {
    // Links to real rasters (read in place, never copied): the two Debian scenes and rasterio's Landsat RGB.
    const sample = join(dir.path, 'Shared sample');
    await mkdir(sample);
    for (const f of ['debian/cbers_rgb342_crop1.tif', 'debian/L7_ETMs.tif', 'RGB.byte.tif']) await symlink(join(sharedGeotiff, f), join(sample, f.split('/').pop()!));
    await page.getByRole('tab', { name: 'Archives' }).click();
    // Every text the archive's index line shows, recorded as it changes (the run may be over in a second or two).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { indexLines: string[] }).indexLines = seen;
      new MutationObserver(() => {
        for (const li of document.querySelectorAll('ul[aria-label="Archives"] > li')) {
          const line = li.textContent?.includes('Shared sample') ? li.querySelector('.job .small')?.textContent?.replace(/\s+/g, ' ').trim() : undefined;
          if (line && line !== seen.at(-1)) seen.push(line);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel('Folder to add').fill(sample);
    await page.getByRole('button', { name: 'Add and index' }).click();
    const archive = page.getByRole('list', { name: 'Archives' }).getByRole('listitem').filter({ hasText: 'Shared sample' });
    await archive.waitFor({ timeout: 30_000 });
    await expect.poll(() => archive.locator('.job').getAttribute('data-state'), { timeout: 120_000 }).toBe('done');
    // While it ran: chips per second and the time left.
    const lines = await page.evaluate(() => (window as unknown as { indexLines: string[] }).indexLines);
    expect(lines.filter((l) => /^running · \d\/3 scenes · \d+ chips · \d+\.\d chips\/s \d+ (s|min) left/.test(l)).length, lines.join('\n')).toBeGreaterThan(0);
    expect(await archive.innerText()).toMatch(/3 scenes[\s\S]*3\/3 scenes/);
    expect(await archive.getByRole('progressbar', { name: 'Indexing Shared sample' }).getAttribute('value')).toBe('100');
    // The archive filter offers it; the searches below look in it only.
    await page.getByRole('combobox', { name: 'Archive to search' }).selectOption({ label: 'Shared sample' });
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
    // Nothing on screen jumps while the results and their thumbnails arrive (layout shifts, as Chromium measures them).
    await page.evaluate(() => {
      const w = window as unknown as { shifts: number[] };
      w.shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) if (!e.hadRecentInput) w.shifts.push(e.value);
      }).observe({ type: 'layout-shift' });
    });
    await searchFor('water');
    await expect.poll(() => hits().locator('img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete)), { timeout: 15_000 }).toBe(true);
    const shifted = await page.evaluate(() => (window as unknown as { shifts: number[] }).shifts.reduce((a, b) => a + b, 0));
    expect(shifted).toBeLessThan(0.01);
    expect(await hits().count()).toBeGreaterThan(2);
    expect(await page.locator('.leaflet-tooltip.rank').count()).toBe(await hits().count());
    // Landsat's open sea (RGB.byte.tif) and the CBERS reservoir are the water there is.
    const names = await hits().getByRole('button', { name: /^#\d+ / }).evaluateAll((b) => b.map((x) => x.textContent!.trim().replace(/^#\d+ (\S+)[\s\S]*$/, '$1')));
    expect(names[0]).toBe(existsSync(sharedGeotiff) ? 'RGB.byte.tif' : 'cbers_rgb342_crop1.tif');
    expect(names).toContain('cbers_rgb342_crop1.tif');
    // Thumbnails are real images rendered by the engine.
    await expect.poll(() => hits().first().locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    // Each hit says its rank, in order, its scene, its score and its scale.
    const texts = await hits().allInnerTexts();
    texts.forEach((t, i) => expect(t).toMatch(new RegExp(`^#${i + 1} \\S+\\.tif\\s+score -?\\d+\\.\\d\\d · level \\d`)));
    // Every hit comes from the archive chosen in the filter.
    if (existsSync(sharedGeotiff)) {
      const paths = await page.evaluate(async () => {
        const r = await fetch('/api/archives.list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        return ((await r.json()) as { name: string; roots: string[] }[]).find((a) => a.name === 'Shared sample')!.roots[0]!;
      });
      for (const label of await hits().getByRole('button', { name: /^#\d+ / }).all()) expect(await label.getAttribute('title')).toContain(paths);
    }
    // Hovering a hit in the list highlights its outline on the map.
    const thick = (): Promise<number> => page.locator('path.hit[stroke-width="4"]').count();
    expect(await thick()).toBe(0);
    await hits().first().hover();
    await expect.poll(thick).toBe(1);
    expect(await hits().first().getAttribute('class')).toMatch(/highlighted/);
    await page.screenshot({ path: join(artifacts, 'panel-results.png') });
    await audit('panel-results');
  });

  it('exports the hits as GeoJSON and CSV files, one row per hit shown', async () => {
    const shown = await hits().count();
    const [geo] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export GeoJSON' }).click()]);
    expect(geo.suggestedFilename()).toBe('kestrel-hits.geojson');
    const collection = JSON.parse(await readFile((await geo.path())!, 'utf8')) as { type: string; features: { geometry: { type: string }; properties: { rank: number; path: string } }[] };
    expect(collection.type).toBe('FeatureCollection');
    expect(collection.features.map((f) => f.properties.rank)).toEqual(Array.from({ length: shown }, (_, i) => i + 1));
    expect(collection.features[0]!.geometry.type).toBe('Polygon');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const lines = (await readFile((await csv.path())!, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('rank,score,similarity,sceneId,path,level,x,y,width,height');
    expect(lines).toHaveLength(shown + 1);
    expect(lines[1]).toMatch(/^1,-?\d+\.\d{4},/);
  });

  it('"More like this" searches with a hit\'s chip; "Suggest captions" says when the caption bank is empty', async () => {
    const first = hits().first();
    const chip = await first.locator('img').getAttribute('src');
    await first.getByRole('button', { name: 'Suggest captions' }).click();
    await expect.poll(() => first.innerText()).toMatch(/The caption bank is empty: import captions first\./);
    await first.getByRole('button', { name: 'More like this' }).click();
    expect(await page.locator('.results-query').innerText()).toBe('for chips like #1');
    // New hits arrive, and the chip itself is not among its look-alikes.
    const thumbs = (): Promise<(string | null)[]> => hits().locator('img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')));
    await expect.poll(async () => (await thumbs()).length > 0 && !(await thumbs()).includes(chip), { timeout: 30_000 }).toBe(true);
    await searchFor('water');
    expect(await hits().count()).toBeGreaterThan(2);
  });

  it('clicking a hit flies the map to it, and j / k step through the hits', async () => {
    const map = (await page.locator('.leaflet-container').boundingBox())!;
    const offset = (rank: number) => async (): Promise<number> => {
      const label = (await page.locator('.leaflet-tooltip.rank', { hasText: new RegExp(`^#${rank}$`) }).boundingBox())!;
      const c = frameCentre(map);
      return Math.hypot(label.x + label.width / 2 - c.x, label.y + label.height / 2 - c.y);
    };
    await hits().nth(2).getByRole('button').first().click();
    await expect.poll(offset(3), { timeout: 10_000 }).toBeLessThan(40);
    await expect.poll(tilesLoaded, { timeout: 20_000 }).toBe(true);
    await page.screenshot({ path: join(artifacts, 'map-hit.png') });
    await audit('map-hit');
    await page.locator('.leaflet-container').click({ position: { x: 600, y: 690 } });
    await page.keyboard.press('j');
    await expect.poll(offset(4), { timeout: 10_000 }).toBeLessThan(40);
  });

  it('edits the selected hit\'s captions with the keyboard, with history and undo, and they survive a reload', async () => {
    await page.getByRole('tab', { name: 'Results' }).click();
    const selectedLabel = (await page.getByRole('list', { name: 'Search results' }).locator('li.selected button').first().innerText()).replace(/\s+/g, ' ').trim();
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
    await audit('panel-captions');
    // After a reload the window comes back as it was (view.json): the query in the box, its archive
    // filter, and its hits, searched again without taking the side panel off the tab it opens on.
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await expect.poll(() => searchBox().inputValue()).toBe('water');
    if (existsSync(sharedGeotiff)) expect(await page.getByRole('combobox', { name: 'Archive to search' }).locator('option:checked').innerText()).toBe('Shared sample');
    // The hits are back on the map while the panel stays on its opening tab.
    await expect.poll(() => page.locator('.leaflet-tooltip.rank').count(), { timeout: 30_000 }).toBeGreaterThan(2);
    expect(await page.getByRole('tab', { name: 'Archives' }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('tab', { name: 'Results' }).click();
    await expect.poll(() => page.locator('.results-query').innerText(), { timeout: 30_000 }).toBe('for “water”');
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBeGreaterThan(2);
    // The same hit, found again, shows the caption as the undo left it.
    await page.getByRole('button', { name: selectedLabel! }).click();
    await page.getByRole('tab', { name: 'Captions' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Captions of the selected hit' }).innerText()).toMatch(/^a reservoir between green fields/);
  });

  it('draws a search area on the map: only hits inside it, shown as a dashed box; clearing it brings the rest back', async () => {
    await page.getByRole('tab', { name: 'Results' }).click();
    await searchFor('water');
    expect(await hits().count()).toBeGreaterThan(2);
    const all = await hits().count();
    // Frame every hit, then drag a box over the left half of the map's free area.
    await page.getByRole('button', { name: 'Fit map to hits' }).click();
    await page.getByRole('button', { name: 'Draw box' }).click();
    expect(await page.getByRole('group', { name: 'Search filters' }).innerText()).toMatch(/Drag a box on the map/);
    const map = (await page.locator('.leaflet-container').boundingBox())!;
    const from = { x: map.x + 60, y: map.y + 130 };
    const to = { x: map.x + 470, y: map.y + 690 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
    await page.mouse.move(to.x, to.y, { steps: 4 });
    await page.mouse.up();
    const filters = page.getByRole('group', { name: 'Search filters' });
    await expect.poll(() => filters.innerText()).toMatch(/Area: /);
    await expect.poll(() => page.locator('path.area').count()).toBe(1);
    // The search ran again with the area: fewer hits, and every hit's outline centre lies inside the box.
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBeLessThan(all);
    expect(await hits().count()).toBeGreaterThan(0);
    // Once the map has settled on the new hits (it frames them), every rank label lies inside the box.
    const labelsInside = async (): Promise<boolean> => {
      const box = (await page.locator('path.area').boundingBox())!;
      const labels = await page.locator('.leaflet-tooltip.rank').all();
      if (labels.length !== (await hits().count())) return false;
      for (const label of labels) {
        const b = (await label.boundingBox())!;
        const [cx, cy] = [b.x + b.width / 2, b.y + b.height / 2];
        if (cx < box.x - 2 || cx > box.x + box.width + 2 || cy < box.y - 2 || cy > box.y + box.height + 2) return false;
      }
      return true;
    };
    await expect.poll(labelsInside, { timeout: 10_000 }).toBe(true);
    await page.screenshot({ path: join(artifacts, 'map-search-area.png') });
    await audit('map-search-area');
    // The area is kept with the search: after a reload it is drawn again and the same hits come back.
    const inArea = await hits().allInnerTexts();
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await expect.poll(() => page.locator('path.area').count()).toBe(1);
    expect(await filters.innerText()).toMatch(/Area: /);
    await page.getByRole('tab', { name: 'Results' }).click();
    await expect.poll(() => hits().allInnerTexts(), { timeout: 30_000 }).toEqual(inArea);
    await filters.getByRole('button', { name: 'Clear the search area' }).click();
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBe(all);
    expect(await page.locator('path.area').count()).toBe(0);
    // "Use view": the area is what the map shows beside the side panel (the keyboard's way to set one).
    // Where its corners are, read from the coordinates under the cursor: bottom left, and bottom right beside the panel.
    const mapBox = (await page.locator('.leaflet-container').boundingBox())!;
    const under = async (x: number, y: number): Promise<[number, number]> => {
      await page.mouse.move(mapBox.x + x, mapBox.y + y);
      const [lat, lon] = (await page.getByLabel('Coordinates under the cursor').innerText()).split(',').map((t) => parseFloat(t));
      return [lat!, lon!];
    };
    const [south, west] = await under(1, mapBox.height - 1);
    const [, east] = await under(mapBox.width - 417, mapBox.height - 1);
    await filters.getByRole('button', { name: 'Use view' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('path.area').count()).toBe(1);
    const [s, , w, e] = (await filters.innerText()).match(/Area: (-?[\d.]+)…(-?[\d.]+)° N, (-?[\d.]+)…(-?[\d.]+)° E/)!.slice(1).map(Number) as [number, number, number, number];
    // Within two pixels (the cursor reads whole pixels) and the display's two decimals.
    const tolerance = (2 * (east - west)) / (mapBox.width - 416) + 0.006;
    expect(Math.abs(s - south)).toBeLessThan(tolerance);
    expect(Math.abs(w - west)).toBeLessThan(tolerance);
    expect(Math.abs(e - east)).toBeLessThan(tolerance);
    // Beside the panel, not under it: the area stops the panel's width (415 px from the cursor's reading) short of the view's east edge.
    const [, eastOfView] = await under(mapBox.width - 2, mapBox.height - 1);
    const degreesPerPixel = (east - west) / (mapBox.width - 418);
    expect(eastOfView - e).toBeGreaterThan(415 * degreesPerPixel - tolerance);
    await filters.getByRole('button', { name: 'Clear the search area' }).click();
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBe(all);
    // A polygon, clicked corner by corner and closed with a double click: a triangle over the left of the map.
    await page.getByRole('button', { name: 'Fit map to hits' }).click();
    await page.waitForTimeout(400);
    await filters.getByRole('button', { name: 'Draw polygon' }).click();
    expect(await filters.innerText()).toMatch(/Click the corners/);
    const frame = (await page.locator('.leaflet-container').boundingBox())!;
    // Each corner's coordinates, read under the cursor where it is clicked.
    const corners: [number, number][] = [];
    for (const [x, y, last] of [
      [70, 150, false],
      [600, 180, false],
      [120, 690, true],
    ] as const) {
      const [lat, lon] = await under(x, y);
      corners.push([lon, lat]);
      if (last) await page.mouse.dblclick(frame.x + x, frame.y + y);
      else await page.mouse.click(frame.x + x, frame.y + y);
    }
    await expect.poll(() => filters.innerText()).toMatch(/Area: polygon of 3 corners/);
    await expect.poll(() => page.locator('main').getAttribute('aria-busy')).toBe('false');
    const inside = await hits().locator('img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')!.split('/').pop()));
    expect(inside.length).toBeGreaterThan(0);
    expect(inside.length).toBeLessThan(all);
    // The same search through the API with that triangle finds the same chips: the UI sent the polygon it drew.
    const archiveId = await page.getByRole('combobox', { name: 'Archive to search' }).inputValue();
    const viaApi = await page.evaluate(
      async ({ ring, archiveId }) => {
        const body = { text: 'water', topK: 50, polygon: { type: 'Polygon', coordinates: [[...ring, ring[0]]] }, ...(archiveId ? { archiveIds: [archiveId] } : {}) };
        const r = await fetch('/api/search.query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return ((await r.json()) as { hits: { chipId: string; score: number }[] }).hits;
      },
      { ring: corners, archiveId },
    );
    const cutoff = Number(await page.getByRole('slider', { name: 'Score cut-off' }).inputValue());
    expect(viaApi.filter((h) => h.score >= cutoff).map((h) => h.chipId)).toEqual(inside);
    await expect.poll(() => page.locator('path.area').count()).toBe(1);
    await page.screenshot({ path: join(artifacts, 'map-search-polygon.png') });
    await audit('map-search-polygon');
    await filters.getByRole('button', { name: 'Clear the search area' }).click();
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBe(all);
    // The scale filter: native-resolution chips only.
    await filters.getByRole('combobox', { name: 'Chip scale' }).selectOption('0');
    await expect.poll(async () => (await hits().allInnerTexts()).every((t) => t.includes('level 0')), { timeout: 30_000 }).toBe(true);
    await filters.getByRole('combobox', { name: 'Chip scale' }).selectOption('any');
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBe(all);
  });

  it.skipIf(!existsSync(sharedData))('accepts a suggested caption with "a", then walks the least-confident chips one by one in the annotation mode', async () => {
    // A caption bank from the shared data (the Sydney captions), imported through the contract.
    const bank = join(sharedData, 'captions', 'sydney.karpathy.json');
    const imported = await page.evaluate(async (file) => {
      const r = await fetch('/api/captions.importBank', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file }) });
      return (await r.json()) as { bankSize: number };
    }, bank);
    expect(imported.bankSize).toBeGreaterThan(100);
    await hits().nth(1).getByRole('button').first().click();
    await page.getByRole('tab', { name: 'Captions' }).click();
    const suggested = page.getByRole('list', { name: 'Suggested captions' });
    await expect.poll(() => suggested.getByRole('listitem').count(), { timeout: 30_000 }).toBe(3);
    const top = (await suggested.getByRole('listitem').first().innerText()).replace(/\s*\([-\d.]+\)\s*Accept \(a\)\s*$/, '');
    await page.locator('.leaflet-container').click({ position: { x: 600, y: 690 } });
    await page.keyboard.press('a');
    const list = page.getByRole('list', { name: 'Captions of the selected hit' });
    await expect.poll(() => list.innerText()).toContain(top);
    expect(await list.innerText()).toMatch(/suggested/);

    // The annotation mode: the least-confident walk, one chip at a time; the map outlines the chip.
    await page.getByRole('button', { name: 'Annotate' }).click();
    await page.getByRole('radio', { name: /Least confident first/ }).check();
    await page.getByRole('button', { name: 'Start annotating' }).click();
    const where = page.getByRole('status').filter({ hasText: /^Chip \d+ of \d+/ });
    await expect.poll(() => where.innerText(), { timeout: 30_000 }).toMatch(/^Chip 1 of \d+/);
    await expect.poll(() => page.locator('path.focus').count()).toBe(1);
    // The map flies to the chip: its outline ends up in the middle of the map.
    const map = (await page.locator('.leaflet-container').boundingBox())!;
    const offCentre = async (): Promise<number> => {
      const b = (await page.locator('path.focus').boundingBox())!;
      const c = frameCentre(map);
      return Math.hypot(b.x + b.width / 2 - c.x, b.y + b.height / 2 - c.y);
    };
    await expect.poll(offCentre, { timeout: 10_000 }).toBeLessThan(40);
    await expect.poll(tilesLoaded, { timeout: 20_000 }).toBe(true);
    await expect.poll(() => page.getByRole('img', { name: 'Chip 1' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await page.screenshot({ path: join(artifacts, 'panel-annotate.png') });
    await audit('panel-annotate');
    // Type a caption: Enter saves it and moves on.
    const box = page.getByRole('textbox', { name: 'Caption for this chip' });
    await box.fill('a lake with a dark shore');
    await box.press('Enter');
    await expect.poll(() => where.innerText()).toMatch(/^Chip 2 of \d+ .*· 1 captioned/);
    // Accept a suggestion with its number, skip with the arrow key, and go back.
    await page.locator('.leaflet-container').click({ position: { x: 600, y: 690 } });
    await expect.poll(() => page.getByRole('list', { name: 'Suggested captions' }).getByRole('listitem').count(), { timeout: 30_000 }).toBe(3);
    await page.keyboard.press('2');
    await expect.poll(() => where.innerText()).toMatch(/^Chip 3 of \d+ .*· 2 captioned/);
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => where.innerText()).toMatch(/^Chip 4 of/);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => where.innerText()).toMatch(/^Chip 2 of/);
    expect(await page.getByRole('group', { name: 'Chip to caption' }).innerText()).toMatch(/✓/);
    // The walk survives a look at another tab.
    await page.getByRole('tab', { name: 'Results' }).click();
    await page.getByRole('tab', { name: 'Captions' }).click();
    await expect.poll(() => where.innerText()).toMatch(/^Chip 2 of/);
    // What was captioned is in the catalog, written by a person or accepted from the bank.
    const captions = await page.evaluate(async () => {
      const r = await fetch('/api/captions.list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return ((await r.json()) as { text: string; provenance: string }[]).map((c) => `${c.provenance}: ${c.text}`);
    });
    expect(captions).toContain('person: a lake with a dark shore');
    expect(captions.filter((c) => c.startsWith('suggested: '))).toHaveLength(2);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('button', { name: 'Start annotating' }).count()).toBe(1);
    expect(await page.locator('path.focus').count()).toBe(0);
    await page.getByRole('button', { name: 'Selected hit' }).click();
  });

  it('starts a re-tune on the archive\'s captions: the chart draws, a version is registered and activated', async () => {
    // Ten more captioned chips through the contract (the tune needs ten images).
    const captioned = await page.evaluate(async () => {
      const post = async (method: string, body: unknown): Promise<unknown> =>
        (await fetch(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
      const archives = (await post('archives.list', {})) as { id: string; name: string }[];
      const demo = archives.find((a) => a.name === 'Demo archive')!.id;
      const words = ['water', 'forest', 'fields', 'city', 'beach', 'vegetation', 'buildings', 'road', 'sand', 'clouds'];
      const done = new Set<string>();
      for (const w of words) {
        const r = (await post('search.query', { text: w, topK: 10, archiveIds: [demo] })) as { hits: { chipId: string }[] };
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
    expect((await versions.getByRole('columnheader').allInnerTexts()).slice(1, 5)).toEqual(['R@1', 'R@5', 'R@10', 'mR']);
    // Each recall cell: text → image / image → text, in whole percent; mR with the base model's in brackets.
    const cells = await versions.getByRole('row').nth(1).getByRole('cell').allInnerTexts();
    for (const c of cells.slice(1, 4)) expect(c).toMatch(/^\d{1,3}\/\d{1,3}$/);
    expect(cells[4]).toMatch(/^\d+\.\d \(\d+\.\d\)$/);
    await versions.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(() => versions.getByRole('button', { name: 'Deactivate' }).count()).toBe(1);
    await page.screenshot({ path: join(artifacts, 'panel-tuning.png') });
    await audit('panel-tuning');
  });

  it('the score cut-off hides weak hits from the list and the map at once', async () => {
    await page.getByRole('tab', { name: 'Results' }).click();
    await searchFor('water');
    expect(await hits().count()).toBeGreaterThan(2);
    const before = await hits().count();
    await page.getByRole('slider', { name: 'Score cut-off' }).fill('3');
    await expect.poll(() => hits().count()).toBeLessThan(before);
    const shown = await hits().count();
    await expect.poll(() => page.locator('.leaflet-tooltip.rank').count()).toBe(shown);
  });

  it('remembers the queries in a search history offered by the search box, kept by the engine, not the browser', async () => {
    expect(await page.locator('#search-history option[value="water"]').count()).toBe(1);
    expect(await searchBox().getAttribute('list')).toBe('search-history');
    // A number of hits other than the default is kept with the filters.
    const hitsField = page.getByRole('spinbutton', { name: 'Number of hits' });
    await hitsField.fill('3');
    await hitsField.press('Tab');
    await expect.poll(() => page.locator('main').getAttribute('aria-busy'), { timeout: 30_000 }).toBe('false');
    // The browser's storage is per origin, and the port (so the origin) changes when 7733 is taken; the data folder's history must not.
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    await expect.poll(() => page.locator('#search-history option[value="water"]').count()).toBe(1);
    // The search comes back with 3 hits (the cut-off, not kept, is back at 0).
    expect(await hitsField.inputValue()).toBe('3');
    await page.getByRole('tab', { name: 'Results' }).click();
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBe(3);
    await hitsField.fill('50');
    await hitsField.press('Tab');
    await expect.poll(() => hits().count(), { timeout: 30_000 }).toBeGreaterThan(3);
  });

  it('persists a setting through the engine: dark theme survives a reload', async () => {
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.reload();
    await page.waitForSelector('main[data-ready="true"]');
    expect(await page.locator('html').getAttribute('data-theme')).toBe('dark');
    await page.screenshot({ path: join(artifacts, 'shell-dark.png') });
    await audit('shell-dark');
  });

  it('imports a checkpoint from the Models tab: progress while it runs, then the new pack in the list', async () => {
    await page.getByRole('tab', { name: 'Models' }).click();
    const packs = page.getByRole('list', { name: 'Model packs' }).getByRole('listitem');
    await expect.poll(() => packs.count()).toBe(2);
    const file = new URL('../fixtures/importer/openclip-tiny-gelu-nested.pt', import.meta.url).pathname;
    await page.getByRole('textbox', { name: 'Checkpoint file' }).fill(file);
    await page.getByRole('textbox', { name: 'Pack name' }).fill('Imported tiny');
    await page.getByRole('combobox', { name: 'Precision' }).selectOption('fp16');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const bar = page.getByRole('progressbar', { name: 'Importing openclip-tiny-gelu-nested.pt' });
    await bar.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Cancel' }).isVisible()).toBe(true);
    await expect.poll(() => page.locator('.import-job').getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await page.locator('.import-job').innerText()).toMatch(/Imported as Imported tiny/);
    await expect.poll(() => packs.count()).toBe(3);
    const pack = packs.filter({ hasText: 'Imported tiny' });
    expect(await pack.innerText()).toMatch(/openclip-tiny-gelu-nested\.pt/);
    expect(await pack.getByRole('button', { name: 'Use' }).isVisible()).toBe(true);
    // The review shot: the finished import and the form.
    await page.locator('.import-job').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'panel-models-import.png') });
    await audit('panel-models-import');
  });

  it('a checkpoint the importer cannot read on its own: the failure\'s hint names the option, set in the form\'s options, and the notes say what was decided', async () => {
    const packs = page.getByRole('list', { name: 'Model packs' }).getByRole('listitem');
    const before = await packs.count();
    const file = new URL('../fixtures/importer/harma-tiny.pt', import.meta.url).pathname;
    await page.getByRole('textbox', { name: 'Checkpoint file' }).fill(file);
    await page.getByRole('textbox', { name: 'Pack name' }).fill('HarMA base towers');
    await page.getByRole('combobox', { name: 'Precision' }).selectOption('fp32');
    const options = page.locator('details.options');
    await options.locator('summary').click();
    // HarMA weights read as plain open_clip: the adapters are tensors that layout does not use.
    await options.getByRole('combobox', { name: 'Layout' }).selectOption('open_clip');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const job = page.locator('.import-job');
    await expect.poll(() => job.getAttribute('data-state'), { timeout: 60_000 }).toBe('failed');
    expect(await job.getByRole('alert').innerText()).toMatch(/harma-tiny\.pt holds \d+ tensor\(s\)[\s\S]*Layout harma \(--layout harma\)/);
    expect(await job.getByRole('list', { name: 'Import notes' }).isVisible()).toBe(true);
    // Leaving them out, with the activation chosen, imports the base towers; the notes say both.
    await options.getByRole('checkbox', { name: /Leave out unknown tensors/ }).check();
    await options.getByRole('combobox', { name: 'Activation' }).selectOption('gelu');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(() => job.getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await job.innerText()).toMatch(/Imported as HarMA base towers/);
    await job.locator('details.notes summary').click();
    const notes = await job.getByRole('list', { name: 'Import notes' }).innerText();
    expect(notes).toMatch(/not used by the model: \d+ tensor/);
    expect(notes).toMatch(/activation: gelu \(as asked\)/);
    await expect.poll(() => packs.count()).toBe(before + 1);
    expect(await packs.filter({ hasText: 'HarMA base towers' }).innerText()).toMatch(/gelu/);
    await job.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(artifacts, 'panel-models-options.png') });
    await audit('panel-models-options');
    await options.getByRole('checkbox', { name: /Leave out unknown tensors/ }).uncheck();
    await options.getByRole('combobox', { name: 'Layout' }).selectOption('');
    await options.getByRole('combobox', { name: 'Activation' }).selectOption('');
  });

  it.skipIf(!existsSync(sharedGeotiff))('adds a folder typed by path: a scan bar with counts and a Cancel that leaves nothing; unreadable files listed with the reason', { timeout: 180_000 }, async () => {
    const small = ['RGBA.uint16.tif', 'alpha.tif', 'cogeo.tif', 'rio-tiler/cog_rgb.tif', 'rio-tiler/web.tif'];
    // Many files (links to a few small GeoTIFFs), so the scan lasts long enough to be seen and cancelled.
    const big = join(dir.path, 'big survey');
    await mkdir(big);
    for (let i = 0; i < 600; i++) await symlink(join(sharedGeotiff, small[i % small.length]!), join(big, `scene-${String(i).padStart(3, '0')}.tif`));
    const field = join(dir.path, 'field survey');
    await mkdir(field);
    await symlink(join(sharedGeotiff, 'cogeo.tif'), join(field, 'a-cogeo.tif'));
    await symlink(join(sharedGeotiff, 'rio-tiler', 'cog_rgb.tif'), join(field, 'b-cog_rgb.tif'));
    await writeFile(join(field, 'c-broken.tif'), 'this is not a GeoTIFF');

    await page.getByRole('tab', { name: 'Archives' }).click();
    const list = page.getByRole('list', { name: 'Archives' });
    const before = await list.getByRole('listitem').count();
    await page.getByLabel('Folder to add').fill(big);
    await page.getByRole('button', { name: 'Add and index' }).click();
    const bar = page.getByRole('progressbar', { name: 'Scanning big survey' });
    await bar.waitFor({ timeout: 30_000 });
    await expect.poll(async () => page.locator('.adding').innerText().catch(() => ''), { timeout: 30_000 }).toMatch(/reading \d+\/600 files/);
    // Paused at once (the shot and the audit take a while, and the 600 files must not be through by then); paused, the count stands still.
    await page.getByRole('button', { name: 'Pause scan of big survey' }).click();
    const adding = page.locator('.adding');
    await expect.poll(() => adding.innerText(), { timeout: 10_000 }).toMatch(/paused · reading \d+\/600 files/);
    await page.screenshot({ path: join(artifacts, 'panel-archives-scan.png') });
    await audit('panel-archives-scan');
    const readCount = async (): Promise<number> => Number((await adding.innerText()).match(/reading (\d+)\/600/)![1]);
    const pausedAt = await readCount();
    await page.waitForTimeout(1_000);
    expect(await readCount()).toBe(pausedAt);
    // Resumed: said at once, and the Pause button is back (cancelled straight away below, before the 600 files are through).
    await page.getByRole('button', { name: 'Resume scan of big survey' }).click();
    await expect.poll(() => adding.innerText()).not.toMatch(/paused/);
    expect(await page.getByRole('button', { name: 'Pause scan of big survey' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Cancel scan of big survey' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: /cancelled; nothing was changed/ }).count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => bar.count()).toBe(0);
    expect(await list.getByRole('listitem').count()).toBe(before);

    await page.getByLabel('Folder to add').fill(field);
    await page.getByRole('button', { name: 'Add and index' }).click();
    const added = list.getByRole('listitem').filter({ hasText: 'field survey' });
    await added.waitFor({ timeout: 30_000 });
    await expect.poll(() => added.innerText()).toMatch(/2 scenes/);
    // Its index counts the unreadable file as such, not as a scene still to do.
    await expect.poll(() => added.locator('.job').getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await added.locator('.job').innerText()).toMatch(/done · 2\/3 scenes\s\(1 unreadable\)/);
    expect(await added.getByRole('progressbar', { name: 'Indexing field survey' }).getAttribute('value')).toBe('100');
    const problem = added.locator('details.problems');
    expect(await problem.locator('summary').innerText()).toBe('1 file could not be read');
    await problem.locator('summary').click();
    expect(await problem.locator('li').innerText()).toMatch(/c-broken\.tif: \S.{10,}/);
    await page.screenshot({ path: join(artifacts, 'panel-archives-add.png') });
    await audit('panel-archives-add');
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
    // Leaflet marks the button aria-disabled once a zoom ends at the minimum; a click sent while the last zoom
    // is still animating would wait for an enabled button forever, so the click is dispatched and the state polled.
    await expect
      .poll(
        async () => {
          if ((await zoomOut.getAttribute('aria-disabled')) === 'true') return true;
          await zoomOut.dispatchEvent('click');
          await page.waitForTimeout(300);
          return false;
        },
        { timeout: 20_000 },
      )
      .toBe(true);
    await page.locator('.leaflet-control-zoom-in').click();
    await page.waitForTimeout(400);
    const loaded = (): Promise<string[]> =>
      page
        .locator('.basemap-tiles img')
        // Leaflet points tiles it discards at a blank data: image; those are not basemap tiles.
        .evaluateAll((imgs) => (imgs as HTMLImageElement[]).filter((i) => i.complete && i.naturalWidth > 0 && !i.src.startsWith('data:')).map((i) => new URL(i.src).pathname));
    await expect.poll(async () => (await loaded()).filter((p) => p.startsWith('/basemap/2/')).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(8);
    expect((await loaded()).every((p) => /^\/basemap\/\d+\/\d+\/\d+$/.test(p))).toBe(true);
    // Attribution as text: the file's link is not a link on the page.
    const attribution = page.locator('.leaflet-control-attribution');
    expect(await attribution.textContent()).toContain('Kestrel test tiles');
    expect(await attribution.locator('a[href="https://example.org"]').count()).toBe(0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(artifacts, 'map-basemap.png') });
    await audit('map-basemap');

    await source.selectOption('none');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('.basemap-tiles').count()).toBe(0);
    expect(await page.getByLabel('Current basemap').count()).toBe(0);
    expect(await attribution.textContent()).not.toContain('Kestrel test tiles');
  });

  it('passes an accessibility audit (axe-core, WCAG 2.1 A and AA) on every screen shot above', () => {
    expect(a11y).toEqual([]);
  });

  it('made no request to any other origin and logged no error (CSP included)', () => {
    expect(offOrigin).toEqual([]);
    expect(problems).toEqual([]);
  });
});
