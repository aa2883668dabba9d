/** Resident memory of a service process, read from /proc: a bound on growth, not a timing measurement. */
import { readFileSync } from 'node:fs';

/** VmRSS of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** A generous bound on how much a service may grow while fed garbage: noise stays well under it; buffering a flood does not. */
export const MEMORY_GROWTH_BOUND = 50 * 1024 * 1024;
