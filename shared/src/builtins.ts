/**
 * Built-in modules that must be loaded as CommonJS. Node 24 evaluates every export of a built-in module that an ES
 * module imports, getters included, and `node:http` has lazy getters (WebSocket, CloseEvent, MessageEvent: undici,
 * nodejs/node#53721) that then load undici, http2 and zlib, which nothing here uses: +14 MB of RSS in every process
 * that imports `node:http` (measured: 60 against 46 MB for a bare process). Required, the getters stay lazy.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `node:http`, without its lazy exports evaluated. */
export const http: typeof import('node:http') = require('node:http');
