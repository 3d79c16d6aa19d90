/**
 * Renders renderer/public/favicon.svg (Kestrel's own artwork) into the installers' icons in
 * build/: icon.png (512 px), icon.icns (macOS: PNG entries ic09 512 px and ic10 1024 px) and
 * icon.ico (Windows: one 256 px PNG entry). Committed output; rerun after changing the artwork:
 *   npx tsx tools/make-icons.ts        (needs Debian's chromium)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const svg = readFileSync(`${root}renderer/public/favicon.svg`, 'utf8');

async function render(size: number): Promise<Buffer> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(`<html><body style="margin:0">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
  const png = await page.screenshot({ omitBackground: true });
  await browser.close();
  return png;
}

function icns(entries: [string, Buffer][]): Buffer {
  const parts = entries.map(([type, data]) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'ascii');
    head.writeUInt32BE(data.length + 8, 4);
    return Buffer.concat([head, data]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 4);
  return Buffer.concat([head, ...parts]);
}

function ico(png256: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(1, 4); // one image
  const entry = Buffer.alloc(16);
  entry.writeUInt8(0, 0); // 0 means 256 px
  entry.writeUInt8(0, 1);
  entry.writeUInt16LE(1, 4); // planes
  entry.writeUInt16LE(32, 6); // bits per pixel
  entry.writeUInt32LE(png256.length, 8);
  entry.writeUInt32LE(6 + 16, 12);
  return Buffer.concat([header, entry, png256]);
}

const [p256, p512, p1024] = [await render(256), await render(512), await render(1024)];
writeFileSync(`${root}build/icon.png`, p512);
writeFileSync(`${root}build/icon.icns`, icns([['ic09', p512], ['ic10', p1024]]));
writeFileSync(`${root}build/icon.ico`, ico(p256));
console.log('wrote build/icon.png, build/icon.icns, build/icon.ico');
