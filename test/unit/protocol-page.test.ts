/**
 * The phone page and the live view are plain JS (gateway/public), so they cannot import gateway/src/protocol.ts:
 * link.js keeps its own copy of the close codes and reasons, secure-link.js of the default HTTPS port. This test keeps
 * them in step, and checks that every frame type the pages react to, and the auth frame they send, is one the
 * protocol defines.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { authFrameToken, CloseCode, CloseReason, SERVER_FRAME_TYPES } from '@gravity-led/gateway';
import { VARIABLES } from '@gravity-led/shared';
import { ROOT } from '../helpers/system.js';

interface PageLink {
  CloseCode: Record<string, number>;
  CloseReason: Record<string, string>;
}
const link: PageLink = await import(new URL('gateway/public/link.js', `file://${ROOT}`).href);
const secureLink: { DEFAULT_HTTPS_PORT: number } = await import(new URL('gateway/public/secure-link.js', `file://${ROOT}`).href);
const PAGE_SCRIPTS = ['link.js', 'display.js', 'phone.js', 'view.js', 'measured.js', 'level.js', 'recording.js'];
const source = (name: string) => readFileSync(join(ROOT, 'gateway/public', name), 'utf8');

describe('the page and gateway/src/protocol.ts agree', () => {
  it("link.js's close codes are the protocol's, under the same names", () => {
    assert.ok(Object.keys(link.CloseCode).length > 0);
    for (const [name, code] of Object.entries(link.CloseCode)) {
      assert.equal(code, (CloseCode as Record<string, number>)[name], `CloseCode.${name}`);
    }
  });

  it("link.js's close reasons are the protocol's, under the same names", () => {
    assert.ok(Object.keys(link.CloseReason).length > 0);
    for (const [name, reason] of Object.entries(link.CloseReason)) {
      assert.equal(reason, (CloseReason as Record<string, string>)[name], `CloseReason.${name}`);
    }
  });

  it('no page script compares a close code with a bare number', () => {
    for (const name of PAGE_SCRIPTS) assert.doesNotMatch(source(name), /\bcode\s*[!=]==\s*\d{4}\b/, name);
  });

  it('every frame type the pages react to is one the gateway sends', () => {
    const seen = new Set<string>();
    for (const name of PAGE_SCRIPTS) {
      for (const m of source(name).matchAll(/frame\.type\s*===\s*'([^']+)'|case\s+'([^']+)'\s*:/g)) seen.add(m[1] ?? m[2] ?? '');
    }
    assert.ok(seen.size >= 5, `found ${[...seen].join(', ')}`);
    for (const type of seen) assert.ok((SERVER_FRAME_TYPES as readonly string[]).includes(type), `the page expects "${type}" frames`);
  });

  it("the page's default HTTPS port is the configuration's", () => {
    assert.equal(secureLink.DEFAULT_HTTPS_PORT, VARIABLES.GATEWAY_HTTPS_PORT.default);
  });

  it("the page's auth frame is the protocol's", () => {
    const sent = /JSON\.stringify\(\{\s*type:\s*'([^']+)',\s*token:/.exec(source('link.js'));
    assert.ok(sent, 'link.js sends an auth frame');
    assert.equal(authFrameToken({ type: sent[1], token: 'a-token' }), 'a-token');
  });
});
