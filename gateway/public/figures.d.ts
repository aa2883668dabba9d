// Types of figures.js (plain JS, served to the pages as it is) for the gateway, which imports the same module.
export declare const WINDOW_MS: number;

export interface Spread {
  readonly p50: number;
  readonly max: number;
  readonly samples: number;
}

export declare class RateWindow {
  constructor(windowMs?: number);
  add(now: number): void;
  perSecond(now: number): number;
}

export declare class SpreadWindow {
  constructor(windowMs?: number);
  add(value: number, now: number): void;
  spread(now: number): Spread | null;
}

export declare class EchoMatcher {
  constructor(limit: number, maxAgeMs?: number);
  sent(seq: number, at: number): void;
  echoed(state: { readonly seq?: number; readonly unchanged?: number }, now: number): number[];
  clear(): void;
}

export declare function formatMs(ms: number): string;
