import type { BasemapInfo } from '../../contract/index.js';
import type { Asset } from '../host-protocol.js';

/** One opened basemap: what it covers, and its tiles by XYZ address (y from the top). */
export interface BasemapSource {
  readonly info: Omit<BasemapInfo, 'version'>;
  /** The tile at an XYZ address, or undefined when the basemap has none there. Addresses are checked by the caller. */
  tile(z: number, x: number, y: number): Promise<Asset | undefined>;
  close(): void;
}

export type TileFormat = BasemapInfo['format'];

export const MIME: Record<TileFormat, string> = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' };

/** The image format from a tile's first bytes (MBTiles files do not always say, or say right). */
export function sniffFormat(bytes: Uint8Array): TileFormat | undefined {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  const ascii = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/**
 * Attribution as plain text: MBTiles files often carry HTML links, and nothing from a file the user
 * picked is ever inserted into the page as markup.
 */
export function plainAttribution(value: string | undefined): string | null {
  if (!value) return null;
  const text = value
    .replace(/<[^>]*>/g, '')
    .replace(/&copy;/gi, '©')
    .replace(/&amp;/gi, '&')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&nbsp;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? text.slice(0, 500) : null;
}

/** True for a valid XYZ address: integers, z 0–30, x and y inside the zoom level's grid. */
export function validAddress(z: number, x: number, y: number): boolean {
  return Number.isInteger(z) && Number.isInteger(x) && Number.isInteger(y) && z >= 0 && z <= 30 && x >= 0 && y >= 0 && x < 2 ** z && y < 2 ** z;
}
