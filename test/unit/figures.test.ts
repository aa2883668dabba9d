/**
 * The live figures' arithmetic (gateway/public/figures.js, which the gateway imports too), the
 * page's loop figures (measured.js), the gateway's measurements (measurements.ts) and the page's level settings
 * (level.js), on clocks the test moves: what each figure counts, and what it must not count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Measurements, RateWindow, SpreadWindow, WINDOW_MS } from '@gravity-led/gateway';
import type { LedState } from '@gravity-led/shared';
import { ROOT } from '../helpers/system.js';

interface Spread {
  p50: number;
  max: number;
  samples: number;
}
interface Figures {
  WINDOW_MS: number;
  RateWindow: new (windowMs?: number) => { add(now: number): void; perSecond(now: number): number };
  SpreadWindow: new (windowMs?: number) => { add(value: number, now: number): void; spread(now: number): Spread | null };
  formatMs(ms: number): string;
}
interface Snapshot {
  sent: number;
  leds: number;
  latency: Spread | null;
  gateway: unknown;
}
interface Measured {
  LoopFigures: new (
    now: () => number,
  ) => {
    frameSent(seq: number): void;
    stateReceived(frame: { seq?: number; unchanged?: number }): void;
    connected(): void;
    gatewayStats(frame: unknown): void;
    snapshot(): Snapshot;
  };
}
type Vector = { x: number; y: number; z: number };
interface Storage {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}
interface Level {
  LevelSettings: new (
    storage: Storage,
  ) => {
    fullScale: number;
    levels: Record<string, Vector>;
    apply(seed: Vector, angle: number): Vector;
    hasLevel(angle: number): boolean;
    setLevel(angle: number, seed: Vector): void;
    resetLevel(): void;
    setFullScale(degrees: number): void;
  };
}
const load = <T>(name: string): Promise<T> => import(new URL(`gateway/public/${name}`, `file://${ROOT}`).href);
const figures = await load<Figures>('figures.js');
const measured = await load<Measured>('measured.js');
const level = await load<Level>('level.js');

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('figures.js: rates and spreads over the last few seconds', () => {
  it('a steady stream is rated at its rate, from its first second on, and falls to 0 once it stops', () => {
    const c = clock();
    const rate = new figures.RateWindow();
    assert.equal(rate.perSecond(c.now()), 0);
    for (let i = 0; i < 30; i++) {
      rate.add(c.now());
      c.advance(1000 / 30);
    }
    // One second in: 30 a second, not 30 over the whole 5 s window.
    assert.ok(Math.abs(rate.perSecond(c.now()) - 30) < 0.5, `${rate.perSecond(c.now())}`);
    for (let i = 0; i < 300; i++) {
      rate.add(c.now());
      c.advance(1000 / 30);
    }
    assert.ok(Math.abs(rate.perSecond(c.now()) - 30) < 0.7, `${rate.perSecond(c.now())}`);
    // Half the rate for a whole window: half the figure.
    for (let i = 0; i < 100; i++) {
      rate.add(c.now());
      c.advance(1000 / 15);
    }
    assert.ok(Math.abs(rate.perSecond(c.now()) - 15) < 0.5, `${rate.perSecond(c.now())}`);
    c.advance(figures.WINDOW_MS + 100);
    assert.equal(rate.perSecond(c.now()), 0, 'nothing in the window');
  });

  it('the spread is the nearest-rank median and the worst of the window; older samples leave it', () => {
    const c = clock();
    const spread = new figures.SpreadWindow();
    assert.equal(spread.spread(c.now()), null);
    for (const v of [5, 1, 9, 3, 7]) spread.add(v, c.now());
    assert.deepEqual(spread.spread(c.now()), { p50: 5, max: 9, samples: 5 });
    spread.add(2, c.now());
    assert.deepEqual(spread.spread(c.now()), { p50: 3, max: 9, samples: 6 }, 'a measured value, not a mean of two');
    c.advance(figures.WINDOW_MS - 1);
    spread.add(100, c.now());
    assert.deepEqual(spread.spread(c.now()), { p50: 5, max: 100, samples: 7 });
    c.advance(2);
    assert.deepEqual(spread.spread(c.now()), { p50: 100, max: 100, samples: 1 }, 'the first six are older than the window');
    c.advance(figures.WINDOW_MS);
    assert.equal(spread.spread(c.now()), null);
  });

  it('keeps bounded memory whatever the rate', () => {
    const c = clock();
    const spread = new figures.SpreadWindow();
    for (let i = 0; i < 50_000; i++) spread.add(i, c.now());
    const s = spread.spread(c.now());
    assert.ok(s && s.samples <= 2000, `${s?.samples} samples kept`);
    assert.equal(s.max, 49_999, 'the newest are the ones kept');
  });

  it('the gateway counts with the very module the page is served', () => {
    assert.equal(RateWindow, figures.RateWindow);
    assert.equal(SpreadWindow, figures.SpreadWindow);
    assert.equal(WINDOW_MS, figures.WINDOW_MS);
  });

  it('shows milliseconds with a decimal below 10 ms', () => {
    assert.equal(figures.formatMs(3.14), '3.1 ms');
    assert.equal(figures.formatMs(38.6), '39 ms');
  });
});

describe('measured.js: the phone page times its own frames', () => {
  it('times each frame from leaving the page to the first state that shows it or a newer one, once; counts every state as an LED change', () => {
    const c = clock();
    const loop = new measured.LoopFigures(c.now);
    loop.frameSent(101);
    c.advance(10);
    loop.frameSent(102);
    c.advance(15);
    loop.stateReceived({ seq: 102 }); // 15 ms after 102 left; 101, superseded by it, 25 ms after it left
    loop.stateReceived({ seq: 101 }); // never a second sample: already shown by 102's state
    loop.stateReceived({ seq: 102 }); // a second echo of the same frame is not a second sample
    loop.stateReceived({}); // a fail-safe's state: a change of the LEDs, no latency
    loop.stateReceived({ seq: 7 }); // another controller's (or an injected) frame
    const s = loop.snapshot();
    assert.deepEqual(s.latency, { p50: 15, max: 25, samples: 2 });
    assert.ok(s.leds > 0);
    assert.equal(s.gateway, null, 'no stats frame yet');
  });

  it('never times a frame the driver applied without a change (a phone held still) to a later change', () => {
    const c = clock();
    const loop = new measured.LoopFigures(c.now);
    loop.frameSent(1);
    c.advance(5);
    loop.stateReceived({ seq: 1 });
    // Held still for 3 s at 30 frames a second: each one applied, none changing the LEDs, none echoed.
    for (let seq = 2; seq <= 91; seq++) {
      c.advance(33);
      loop.frameSent(seq);
    }
    c.advance(33);
    loop.frameSent(92); // the tilt changes
    c.advance(6);
    loop.stateReceived({ seq: 92, unchanged: 91 });
    assert.deepEqual(loop.snapshot().latency, { p50: 5, max: 6, samples: 2 });
  });

  it('forgets on a new connection what it sent on the last one', () => {
    const c = clock();
    const loop = new measured.LoopFigures(c.now);
    loop.frameSent(1);
    loop.frameSent(2); // its state came back while the page was away
    c.advance(4000);
    loop.connected();
    loop.frameSent(3);
    c.advance(7);
    loop.stateReceived({ seq: 3 });
    assert.deepEqual(loop.snapshot().latency, { p50: 7, max: 7, samples: 1 });
  });

  it("keeps the gateway's figures only while they are fresh", () => {
    const c = clock();
    const loop = new measured.LoopFigures(c.now);
    loop.gatewayStats({ type: 'stats', received: 30 });
    assert.deepEqual(loop.snapshot().gateway, { type: 'stats', received: 30 });
    c.advance(3000);
    assert.equal(loop.snapshot().gateway, null);
  });
});

describe('gateway measurements', () => {
  const sink = () => {
    const seen = { roundTrips: [] as number[], links: [] as number[] };
    return { seen, sink: { roundTrip: (s: number) => seen.roundTrips.push(s), linkRoundTrip: (s: number) => seen.links.push(s) } };
  };
  const state = (seq?: number): LedState => ({ left: 0, right: 10, reason: 'gravity', ts: 0, ...(seq === undefined ? {} : { seq }) });

  it('times a frame with seq from its arrival to the state echoing it; the rest is never a sample', () => {
    const c = clock();
    const { seen, sink: s } = sink();
    const m = new Measurements(s, c.now);
    const arrived = c.now();
    m.frameReceived();
    m.published({ x: 0, y: 10, z: 99, seq: 5 }, arrived);
    m.published({ x: 0, y: 11, z: 99 }, arrived); // no seq: cannot be matched
    c.advance(4);
    m.state(state(5), false);
    m.state(state(5), false); // echoed again: no second sample
    m.state(state(5), true); // the broker's retained replay: not a change
    m.state(state(99), false); // a seq nobody published here
    assert.deepEqual(seen.roundTrips, [0.004]);
    const stats = m.snapshot();
    assert.equal(stats.type, 'stats');
    assert.equal(stats.window, 5);
    assert.deepEqual(stats.roundTrip, { p50: 4, max: 4, samples: 1 });
    assert.equal(stats.link, null);
    assert.ok(stats.received > 0);
    assert.ok(stats.ledUpdates > 0);
  });

  it('a state ends the round trip of the frames it supersedes too; a seq used again counts from its newest arrival', () => {
    const c = clock();
    const { seen, sink: s } = sink();
    const m = new Measurements(s, c.now);
    m.published({ x: 0, y: 1, z: 99, seq: 1 }, c.now());
    m.published({ x: 0, y: 2, z: 99, seq: 2 }, c.now());
    c.advance(10);
    m.published({ x: 0, y: 1, z: 99, seq: 1 }, c.now()); // a second client counting from 1
    c.advance(3);
    m.state(state(2), false);
    m.state(state(1), false);
    // 2 from its arrival 13 ms ago; the first 1 went with it, the second client's 1 counts from its own arrival.
    assert.deepEqual(seen.roundTrips, [0.013, 0.003]);
    m.published({ x: 0, y: 3, z: 99, seq: 3 }, c.now());
    m.published({ x: 0, y: 4, z: 99, seq: 4 }, c.now());
    c.advance(2);
    m.state(state(4), false);
    m.state(state(3), false);
    // 3 was superseded by 4: timed to 4's state (the LEDs showed a newer frame then), never again after it.
    assert.deepEqual(seen.roundTrips, [0.013, 0.003, 0.002, 0.002]);
  });

  it('never times a frame the driver applied without a change to a later change; forgets a session that ended', () => {
    const c = clock();
    const { seen, sink: s } = sink();
    const m = new Measurements(s, c.now);
    m.published({ x: 0, y: 40, z: 91, seq: 1 }, c.now());
    c.advance(5);
    m.state(state(1), false);
    // Held still for 3 s: applied one by one, no change, no state.
    for (let seq = 2; seq <= 91; seq++) {
      c.advance(33);
      m.published({ x: 0, y: 40, z: 91, seq }, c.now());
    }
    c.advance(33);
    m.published({ x: 0, y: 41, z: 91, seq: 92 }, c.now());
    c.advance(6);
    m.state({ ...state(92), unchanged: 91 }, false);
    assert.deepEqual(seen.roundTrips, [0.005, 0.006]);
    // Frames of a controller that left unanswered (the driver ignores them) are not timed to the next one's state.
    m.published({ x: 0, y: 42, z: 91, seq: 93 }, c.now());
    c.advance(4000);
    m.controllersChanged();
    m.published({ x: 0, y: 10, z: 99, seq: 1 }, c.now());
    c.advance(3);
    m.state(state(1), false);
    assert.deepEqual(seen.roundTrips, [0.005, 0.006, 0.003]);
  });

  it('remembers a bounded number of frames, and never matches one from long ago', () => {
    const c = clock();
    const { seen, sink: s } = sink();
    const m = new Measurements(s, c.now);
    m.published({ x: 0, y: 1, z: 99, seq: 0 }, c.now());
    for (let seq = 1; seq <= 5000; seq++) m.published({ x: 0, y: 1, z: 99, seq }, c.now());
    m.state(state(0), false);
    assert.deepEqual(seen.roundTrips, [], 'the oldest was forgotten');
    c.advance(11_000);
    m.state(state(5000), false);
    assert.deepEqual(seen.roundTrips, [], 'eleven seconds later it is no round trip');
  });

  it('link round trips feed the metric and the figures', () => {
    const c = clock();
    const { seen, sink: s } = sink();
    const m = new Measurements(s, c.now);
    m.linkRoundTrip(12);
    m.linkRoundTrip(20);
    m.linkRoundTrip(8);
    assert.deepEqual(seen.links, [0.012, 0.02, 0.008]);
    assert.deepEqual(m.snapshot().link, { p50: 12, max: 20, samples: 3 });
  });
});

describe('level.js: Set level and the sensitivity are kept in the browser storage', () => {
  const memory = () => {
    const map = new Map<string, string>();
    return {
      map,
      get: (k: string) => map.get(k) ?? null,
      set: (k: string, v: string) => void map.set(k, v),
      remove: (k: string) => void map.delete(k),
    };
  };
  const held = { x: 93.97, y: 34.2, z: 0 }; // upright, turned 20° right

  it('survives a reload, per screen orientation, and Reset forgets it', () => {
    const storage = memory();
    const first = new level.LevelSettings(storage);
    assert.equal(first.fullScale, 90);
    assert.equal(first.apply(held, 0).y, 34.2, 'the seed rule until Set level');
    first.setLevel(0, held);
    first.setFullScale(45);
    const reloaded = new level.LevelSettings(storage);
    assert.equal(reloaded.apply(held, 0).y, 0, 'level after a reload');
    assert.equal(reloaded.fullScale, 45);
    assert.equal(reloaded.hasLevel(90), false, 'landscape has its own level');
    assert.equal(reloaded.apply(held, 90).y, round2((34.2 / Math.SQRT1_2) * 1), 'landscape: sensitivity only');
    reloaded.resetLevel();
    assert.equal(new level.LevelSettings(storage).apply(held, 0).y, round2(34.2 / Math.SQRT1_2));
  });

  it('ignores stored values it cannot use', () => {
    const storage = memory();
    storage.set('gravity-led.level', '{"0":{"x":"a","y":1,"z":2},"90":{"x":0,"y":0,"z":0},"x":{"x":1,"y":1,"z":1}}');
    storage.set('gravity-led.full-scale', 'fast');
    const settings = new level.LevelSettings(storage);
    assert.deepEqual(settings.levels, {});
    assert.equal(settings.fullScale, 90);
    storage.set('gravity-led.level', 'not json');
    storage.set('gravity-led.full-scale', '5');
    assert.equal(new level.LevelSettings(storage).fullScale, 15, 'clamped');
  });
});

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
