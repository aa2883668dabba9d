/**
 * Plain HTTP for the gateway: the phone page and the live view from `gateway/public`, the page's `/config.json`, and
 * the health endpoints (shared/src/health-http.ts). Files are read once at start: a fixed map of names means no
 * path from a request ever reaches the file system.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHealthHandler, type Health } from '@gravity-led/shared';

export const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

export function loadAssets(dir: string = PUBLIC_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return assets;
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) assets.set(`/${name}`, { body: readFileSync(join(dir, name)), type });
  }
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  const view = assets.get('/view.html');
  if (view) assets.set('/view', view);
  return assets;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The token travels in the URL fragment; no third-party content may ever load next to it.
  'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
};

/** What the page needs to know about this gateway before it has a token: public, never secret. */
export interface PageConfig {
  /** The HTTPS port, so a page opened over plain HTTP can point to the secure link; 0 when HTTPS is off. */
  httpsPort: number;
}

export function createRequestHandler(assets: Map<string, Asset>, health: Health, pageConfig: () => PageConfig = () => ({ httpsPort: 0 })) {
  return createHealthHandler(health, (path, req, res) => {
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(pageConfig()));
      return true;
    }
    const asset = assets.get(path);
    if (!asset) return false;
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  });
}
