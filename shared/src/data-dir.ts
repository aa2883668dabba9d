/**
 * DATA_DIR, where the generated secrets and the certificate are kept: an owner-only folder, and files that are
 * written once, atomically, by whichever service gets there first.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from './errors.js';

/** Creates DATA_DIR with owner-only permissions (a group- or world-readable folder would leak the secrets). */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Writes `content` to `dir/name` only if no such file exists, atomically: three services started together
 * must agree on one set of secrets, so the first writer wins and the others read what it wrote.
 * Returns true when this call created the file.
 */
export function writeOnce(dir: string, name: string, content: string | Uint8Array): boolean {
  ensureDataDir(dir);
  const target = join(dir, name);
  // There already: nothing is written, not even the temporary file (a start that finds its files leaves DATA_DIR, a
  // Pi's SD card, as it is). A file that appears meanwhile is still caught by the link below.
  if (existsSync(target)) return false;
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(temp, content, { mode: 0o600 });
  try {
    linkSync(temp, target);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}
