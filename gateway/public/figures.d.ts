// Types of figures.js for the gateway, which imports it (gateway/src/measurements.ts); the page uses the .js as it is.
export declare const WINDOW_MS: number;

export declare class RateWindow {
  constructor(windowMs?: number);
  add(now: number): void;
  perSecond(now: number): number;
}

export interface Spread {
  readonly p50: number;
  readonly max: number;
  readonly samples: number;
}

export declare class SpreadWindow {
  constructor(windowMs?: number);
  add(value: number, now: number): void;
  spread(now: number): Spread | null;
}

export declare function formatMs(ms: number): string;
