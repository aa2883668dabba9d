/**
 * Events per second and the spread (median and worst) of durations over the last few seconds, and which round trips an
 * LED state ends, for the live figures (measurements.ts). The arithmetic has one home, gateway/public/figures.js: the
 * pages run it as it is served and the gateway imports the same file (typed by figures.d.ts beside it), so the figures
 * a phone computes and the ones the gateway reports are counted alike by construction.
 */
export { EchoMatcher, RateWindow, SpreadWindow, WINDOW_MS } from '../public/figures.js';
