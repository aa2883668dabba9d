/**
 * The phone page: watches the LEDs as a viewer until Start, then becomes the controller and streams the tilt at a
 * steady rate (the newest value each tick, never a backlog), until Stop. See tilt.js for the axes and signs, level.js
 * for "Set level" and the sensitivity, measured.js for the figures, recording.js for Record.
 */
import { $, sharedElements, showReadout, unavailableNotice } from './display.js';
import { showState } from './leds.js';
import { bindLevelControls, LevelSettings } from './level.js';
import { GatewayLink } from './link.js';
import { figureElements, LoopFigures, showPhoneFigures } from './measured.js';
import { bindRecorder, Recorder } from './recording.js';
import { secureLink } from './secure-link.js';
import { reportsInvertedGravity, seedVector, sliderGravity } from './tilt.js';
import { bindTokenForm, takeTokenFromUrl } from './token.js';
import { ScreenAwake } from './wake.js';

/** Frames per second sent while controlling; well inside the fail-safe's 1 s and the gateway's rate cap. */
const SEND_HZ = 30;
/** A sensor value older than this is not sent again: if the sensor stops, the LEDs' fail-safe should act. */
const STALE_MOTION_MS = 500;
/** After Start, how long to wait for a first sensor event before suggesting the slider. */
const NO_SENSOR_MS = 2500;

const ui = {
  ...sharedElements(),
  insecure: $('insecure'),
  httpsLink: $('https-link'),
  start: $('start'),
  sensor: $('sensor-note'),
  awake: $('awake-note'),
  slider: $('tilt'),
  reverse: $('reverse'),
  figures: figureElements({ sent: 'fig-sent', received: 'fig-received', leds: 'fig-leds', latency: 'fig-latency' }),
};

let token = takeTokenFromUrl();
let controlling = false;
/** The newest tilt: {x, y, z, source: 'motion'|'slider', at}. */
let current = null;
/** The newest sensor reading before calibration, for Set level: {vector, angle, at}. */
let held = null;
/**
 * Frame numbers start at random, so that the state echoing one is very unlikely to be another controller's (with
 * GATEWAY_MAX_CLIENTS above 1) or an injected one's: the round trip is only measured on this page's own frames.
 */
let seq = Math.floor(Math.random() * 2 ** 30);
/** The next state frame is the one the gateway sends after hello: the last state again, not a change. */
let replayedState = false;
let sendTimer = 0;
let sensorTimer = 0;
let motionSeen = false;
let linkProblem = '';
let deviceProblem = '';
const invertedBrowser = reportsInvertedGravity();
const level = new LevelSettings();
const figures = new LoopFigures();
const recorder = bindRecorder({ button: $('record'), note: $('record-note'), download: $('download') }, new Recorder(), () => ({
  source: 'phone-page',
  sendHz: SEND_HZ,
  fullScale: level.fullScale,
}));
const levelControls = bindLevelControls(
  {
    setLevel: $('set-level'),
    reset: $('reset-level'),
    fullScale: $('full-scale'),
    fullScaleValue: $('full-scale-value'),
    note: $('level-note'),
  },
  level,
  () => (held && performance.now() - held.at <= STALE_MOTION_MS ? held : null),
);
const showFigures = () => showPhoneFigures(ui.figures, figures.snapshot(), { controlling, askedHz: SEND_HZ });
showFigures();
setInterval(showFigures, 500);

const awake = new ScreenAwake((on, note) => {
  ui.awake.textContent = note;
  ui.awake.dataset.on = String(on);
});
const tokenForm = bindTokenForm($('token-form'), (t) => {
  token = t;
  link.setToken(t);
  if (!window.isSecureContext) showSecureLink();
});
const link = new GatewayLink({ role: 'viewer', token, onFrame, onStatus });
link.start();
if (!token) tokenForm.show('Open the link that the gateway printed at start, or type the access token here.');
if (!window.isSecureContext) showSecureLink();
try {
  ui.reverse.checked = localStorage.getItem('gravity-led.reverse') === 'true';
} catch {
  // storage blocked: start unswapped
}

ui.start.addEventListener('click', () => (controlling ? stopControl() : startControl()));
ui.slider.addEventListener('input', () => {
  if (!controlling) {
    ui.sensor.textContent = 'Press Start first, then tilt or drag.';
    return;
  }
  setCurrent(sliderGravity(Number(ui.slider.value)), 'slider');
});
ui.reverse.addEventListener('change', () => {
  try {
    localStorage.setItem('gravity-led.reverse', String(ui.reverse.checked));
  } catch {
    // not remembered: fine
  }
});

async function startControl() {
  // First, while still inside the tap: iOS grants motion access only from a user gesture.
  const permission = await motionPermission();
  controlling = true;
  motionSeen = false;
  current = null;
  held = null;
  ui.start.textContent = 'Stop';
  ui.start.setAttribute('aria-pressed', 'true');
  document.body.dataset.controlling = 'true';
  link.setRole('controller');
  if (!window.isSecureContext) {
    ui.sensor.textContent = 'Motion sensors need the https link above; the slider works here.';
  } else if (permission === 'denied') {
    ui.sensor.textContent =
      'Motion access was refused. Reload the page and tap Allow when asked (or close the tab and open the link again). The slider works meanwhile.';
  } else {
    ui.sensor.textContent = holdHint(screen.orientation?.angle ?? 0);
    window.addEventListener('devicemotion', onMotion);
    sensorTimer = setTimeout(() => {
      if (!motionSeen) ui.sensor.textContent = 'No motion sensor data from this device: drag the slider to tilt.';
    }, NO_SENSOR_MS);
  }
  sendTimer = setInterval(sendTick, 1000 / SEND_HZ);
  awake.keep();
}

function stopControl() {
  controlling = false;
  clearInterval(sendTimer);
  clearTimeout(sensorTimer);
  window.removeEventListener('devicemotion', onMotion);
  current = null;
  ui.start.textContent = 'Start';
  ui.start.setAttribute('aria-pressed', 'false');
  document.body.dataset.controlling = 'false';
  ui.sensor.textContent = '';
  link.setRole('viewer');
  awake.release();
}

async function motionPermission() {
  const Motion = window.DeviceMotionEvent;
  if (!Motion) return 'unsupported';
  if (typeof Motion.requestPermission !== 'function') return 'granted';
  try {
    return await Motion.requestPermission();
  } catch {
    return 'denied';
  }
}

function onMotion(event) {
  const angle = screen.orientation?.angle ?? (typeof window.orientation === 'number' ? window.orientation : 0);
  const vector = seedVector(event.accelerationIncludingGravity, angle, invertedBrowser !== ui.reverse.checked);
  if (!vector) return;
  held = { vector, angle, at: performance.now() };
  const g = level.apply(vector, angle);
  if (!motionSeen) {
    motionSeen = true;
    ui.sensor.textContent = holdHint(angle);
    levelControls.describe(angle);
  }
  setCurrent(g, 'motion');
  if (document.activeElement !== ui.slider) ui.slider.value = String(Math.round(g.y));
}

function holdHint(angle) {
  return `Hold the phone ${level.hasLevel(angle) ? 'as you set level' : 'upright'}; tilt right for green, left for red.`;
}

function setCurrent(g, source) {
  current = { ...g, source, at: performance.now() };
  showReadout(ui.readout, g);
}

/** One frame per tick, the newest value only; nothing while hidden, so the fail-safe turns the LEDs off. */
function sendTick() {
  if (!controlling || !current || document.hidden) return;
  if (current.source === 'motion' && performance.now() - current.at > STALE_MOTION_MS) return;
  const frame = { x: current.x, y: current.y, z: current.z, seq: seq + 1 };
  if (!link.send(JSON.stringify(frame))) return;
  seq++;
  figures.frameSent(frame.seq);
  recorder.add(frame);
}

function onFrame(frame) {
  switch (frame.type) {
    case 'hello':
      tokenForm.hide();
      deviceProblem = unavailableNotice(frame);
      replayedState = true;
      figures.connected();
      break;
    case 'state':
      showState(frame, ui.leds);
      if (!replayedState) figures.stateReceived(frame);
      replayedState = false;
      break;
    case 'stats':
      figures.gatewayStats(frame);
      return;
    case 'unavailable':
      deviceProblem = unavailableNotice(frame);
      break;
    case 'available':
      deviceProblem = '';
      break;
    default:
      return;
  }
  showNotice();
}

function onStatus({ state, label, message }) {
  ui.status.textContent = label;
  ui.status.dataset.state = state;
  // While reconnecting, the last problem stays up until the link is ready again, so the notice does not flicker.
  if (message) {
    linkProblem = message;
    ui.notice.dataset.kind = state;
  } else if (state === 'ready' || state === 'stopped') {
    linkProblem = '';
  }
  if (state === 'refused') tokenForm.show(`${message}: open the link printed at start again, or type the token here.`);
  showNotice();
}

function showNotice() {
  const text = linkProblem || deviceProblem;
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
  if (!linkProblem && deviceProblem) ui.notice.dataset.kind = 'unavailable';
}

async function showSecureLink() {
  ui.insecure.hidden = false;
  const href = await secureLink(token);
  if (href) {
    ui.httpsLink.href = href;
    ui.httpsLink.textContent = href.replace(/#.*/, '');
  } else {
    ui.httpsLink.removeAttribute('href');
    ui.httpsLink.textContent = 'HTTPS is turned off on this gateway (GATEWAY_HTTPS_PORT=0): ask whoever runs it to turn it on.';
  }
}
