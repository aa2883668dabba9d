/**
 * The measured figures the pages show. The phone page counts on its own clock (performance.now()) the frames it
 * sends and the state frames that come back, and times each frame from leaving the page to the state that echoes
 * its `seq`; what the gateway measured arrives in its `stats` frames, on the gateway's clock. No figure mixes two
 * clocks. docs/metrics.md says what each one counts.
 */
import { EchoMatcher, formatMs, RateWindow, SpreadWindow, WINDOW_MS } from './figures.js';

/** Frames remembered while their state may still come back; older ones are superseded anyway. */
const MAX_IN_FLIGHT = 512;
/** The gateway says its figures every second: older than this, they are no longer live. */
const GATEWAY_FRESH_MS = 2500;

export class LoopFigures {
  constructor(now = () => performance.now()) {
    this.now = now;
    this.sent = new RateWindow();
    this.states = new RateWindow();
    this.latency = new SpreadWindow();
    /** The frames sent, by when they left the page, until a state ends their round trip. */
    this.echoes = new EchoMatcher(MAX_IN_FLIGHT);
    this.gateway = null;
    this.gatewayAt = Number.NEGATIVE_INFINITY;
  }

  /** A frame numbered `seq` was handed to the WebSocket. */
  frameSent(seq) {
    const now = this.now();
    this.sent.add(now);
    this.echoes.sent(seq, now);
  }

  /** A state frame: one change the led-driver applied to the pins. */
  stateReceived(frame) {
    const now = this.now();
    this.states.add(now);
    // Which frames it ends, and which it drops untimed: figures.js (EchoMatcher), the gateway's rule too.
    for (const ms of this.echoes.echoed(frame, now)) this.latency.add(ms, now);
  }

  /**
   * A new connection to the gateway (its `hello`): what was sent on the last one and not echoed never will be, or
   * was echoed while the page was away.
   */
  connected() {
    this.echoes.clear();
  }

  /** The gateway's own figures (a `stats` frame). */
  gatewayStats(frame) {
    this.gateway = frame;
    this.gatewayAt = this.now();
  }

  snapshot() {
    const now = this.now();
    return {
      sent: this.sent.perSecond(now),
      leds: this.states.perSecond(now),
      latency: this.latency.spread(now),
      gateway: now - this.gatewayAt < GATEWAY_FRESH_MS ? this.gateway : null,
    };
  }
}

/** The figure elements of a page: each `id` holds an <output> and a <small> beneath it. */
export function figureElements(ids) {
  const elements = {};
  for (const [name, id] of Object.entries(ids)) {
    const root = document.getElementById(id);
    elements[name] = { value: root.querySelector('output'), detail: root.querySelector('small') };
  }
  return elements;
}

function show(figure, value, detail = '') {
  figure.value.textContent = value;
  figure.detail.textContent = detail;
}

const rate = (perSecond) => `${perSecond.toFixed(1)}/s`;

/** The phone page: what it sent, what the gateway got, the LED changes it was told of, its round trip. */
export function showPhoneFigures(elements, { sent, leds, latency, gateway }, { controlling, askedHz }) {
  show(elements.sent, controlling ? rate(sent) : '–', controlling ? `asked ${askedHz}` : 'not controlling');
  show(elements.received, gateway ? rate(gateway.received) : '–', 'at gateway');
  show(elements.leds, rate(leds), 'changes');
  if (latency) show(elements.latency, formatMs(latency.p50), `worst ${formatMs(latency.max)}`);
  else show(elements.latency, '–', controlling ? 'no LED change' : 'not controlling');
}

/** The live view: the gateway's figures, and the phone's round trip as the sum of its two measured parts. */
export function showGatewayFigures(elements, stats) {
  show(elements.received, stats ? rate(stats.received) : '–', 'frames');
  show(elements.leds, stats ? rate(stats.ledUpdates) : '–', 'changes');
  const spread = (s) => (s ? [formatMs(s.p50), `worst ${formatMs(s.max)}`] : ['–', 'none']);
  show(elements.roundTrip, ...spread(stats?.roundTrip));
  show(elements.link, ...spread(stats?.link));
  const total = stats?.roundTrip && stats?.link ? formatMs(stats.roundTrip.p50 + stats.link.p50) : '–';
  show(elements.total, total, 'p50 + p50');
}

export const WINDOW_SECONDS = WINDOW_MS / 1000;
