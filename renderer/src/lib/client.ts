import type { KestrelClient } from '@contract/client';
import { createHttpClient } from '@contract/http-client';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser. */
    kestrel?: KestrelClient;
  }
}

/**
 * One client interface, two transports: the preload's window.kestrel under Electron, the
 * HTTP/WebSocket client when the page is served by `kestrel serve`.
 */
export function connect(): KestrelClient {
  if (window.kestrel) return window.kestrel;
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token') ?? undefined;
  if (token) {
    // The server set a same-site cookie with this token; keep it out of the address bar and history.
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return createHttpClient({ baseUrl: window.location.origin, token });
}

/** Where the map finds a scene's tiles: tiles:// under Electron, the server's /tiles/ route in a browser. */
export function tileUrlTemplate(sceneId: string): string {
  return window.kestrel ? `tiles://${sceneId}/{z}/{x}/{y}` : `/tiles/${sceneId}/{z}/{x}/{y}`;
}

/** A chip's thumbnail: thumbs:// under Electron, the server's /thumbs/ route in a browser. */
export function thumbUrl(chipId: string): string {
  return window.kestrel ? `thumbs://${chipId}` : `/thumbs/${chipId}`;
}

/**
 * Where the map finds the basemap's tiles: basemap:// under Electron, the server's /basemap/ route in
 * a browser. The version (from basemap.info) keeps the browser's cache of two basemaps apart.
 */
export function basemapUrlTemplate(version: string): string {
  return window.kestrel ? `basemap://tile/{z}/{x}/{y}?v=${version}` : `/basemap/{z}/{x}/{y}?v=${version}`;
}
