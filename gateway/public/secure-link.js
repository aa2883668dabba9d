/**
 * Phone browsers give motion sensor events only to secure pages (https, or the machine itself), so a page opened
 * as http://raspberrypi.local:5678/ must point to its https twin instead of silently doing nothing.
 */
/** GATEWAY_HTTPS_PORT's default (the page's copy; test/unit/protocol-page.test.ts checks it against the configuration). */
export const DEFAULT_HTTPS_PORT = 5679;

/** The https address of this page on the gateway's HTTPS port, token in the fragment; null when HTTPS is off. */
export async function secureLink(token) {
  let port = DEFAULT_HTTPS_PORT;
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (response.ok) port = (await response.json()).httpsPort;
  } catch {
    // An older gateway without /config.json: assume the default port.
  }
  if (!Number.isInteger(port) || port <= 0) return null;
  const url = new URL(`https://${location.hostname}:${port}${location.pathname}`);
  if (token) url.hash = `token=${encodeURIComponent(token)}`;
  return url.href;
}
