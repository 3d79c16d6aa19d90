import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const newToken = (): string => randomBytes(32).toString('base64url');

/** Cookie names are per port: browsers do not isolate cookies by port. */
export const cookieName = (port: number): string => `kestrel_token_${port}`;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export type TokenSource = 'header' | 'cookie' | 'query';

/**
 * Where the request carried a valid token, or undefined. Accepted: `Authorization: Bearer`,
 * the per-port cookie set when the page was opened with the token, or `?token=` (the printed URL
 * and WebSocket connections).
 */
export function authenticate(req: IncomingMessage, url: URL, token: string, port: number): TokenSource | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7).trim(), token)) return 'header';
  const fromCookie = cookie(req, cookieName(port));
  if (fromCookie && sameToken(fromCookie, token)) return 'cookie';
  const fromQuery = url.searchParams.get('token');
  if (fromQuery && sameToken(fromQuery, token)) return 'query';
  return undefined;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * On a loopback binding, the Host header must name loopback too: a page on another site that
 * rebinds its DNS name to 127.0.0.1 cannot then talk to us even before the token check.
 */
export function hostAllowed(req: IncomingMessage, boundHost: string): boolean {
  if (!isLoopback(boundHost)) return true;
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return LOOPBACK_NAMES.has(name ?? '');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
