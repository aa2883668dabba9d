/**
 * The live view: a viewer connection (takes no controller's place, cannot drive) that draws the controller's tilt
 * from the gateway's `gravity` frames, the LEDs from `state` frames, and what the gateway measured from `stats`.
 */
import { $, sharedElements, showReadout, unavailableNotice } from './display.js';
import { showState } from './leds.js';
import { GatewayLink } from './link.js';
import { figureElements, showGatewayFigures } from './measured.js';
import { bindTokenForm, takeTokenFromUrl } from './token.js';

/** The gateway sends gravity at up to 30 Hz while a controller moves; this long without one means nobody does. */
const IDLE_MS = 1500;

const ui = {
  ...sharedElements(),
  svg: $('tilt-view'),
  phone: $('phone-shape'),
  mark: $('ybar-mark'),
  note: $('tilt-note'),
  figures: figureElements({
    received: 'fig-received',
    leds: 'fig-leds',
    roundTrip: 'fig-round-trip',
    link: 'fig-link',
    total: 'fig-total',
  }),
};

let idleTimer = 0;
showGatewayFigures(ui.figures, null);
const token = takeTokenFromUrl();
const tokenForm = bindTokenForm($('token-form'), (t) => link.setToken(t));
const link = new GatewayLink({ role: 'viewer', token, onFrame, onStatus });
link.start();
if (!token) tokenForm.show('Open the link with the token, or type the access token here.');

function onFrame(frame) {
  if (frame.type === 'hello') tokenForm.hide();
  else if (frame.type === 'state') showState(frame, ui.leds);
  else if (frame.type === 'gravity') showTilt(frame);
  else if (frame.type === 'stats') showGatewayFigures(ui.figures, frame);
  else if (frame.type === 'available') setNotice('', 'available');
  const unavailable = unavailableNotice(frame);
  if (unavailable) setNotice(unavailable, 'unavailable');
}

/**
 * The phone drawn turned by the angle whose sine is y/100: exactly what sets the LEDs (duty = |y| %), and steady
 * even when the phone lies flat, where the direction of a tiny x-y vector would spin at random.
 */
function showTilt({ x, y, z }) {
  const angle = (Math.asin(Math.max(-1, Math.min(1, y / 100))) * 180) / Math.PI;
  ui.phone.setAttribute('transform', `rotate(${angle.toFixed(1)})`);
  ui.mark.style.left = `${(50 + Math.max(-100, Math.min(100, y)) / 2).toFixed(1)}%`;
  ui.mark.dataset.side = y > 0 ? 'right' : y < 0 ? 'left' : 'none';
  showReadout(ui.readout, { x, y, z });
  ui.svg.classList.remove('idle');
  ui.note.textContent = '';
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    ui.svg.classList.add('idle');
    ui.note.textContent = 'No controller is moving right now.';
  }, IDLE_MS);
}

function onStatus({ state, label, message }) {
  ui.status.textContent = state === 'ready' ? 'Watching' : label;
  ui.status.dataset.state = state;
  if (state === 'refused') tokenForm.show(`${message}: open the link with the token again, or type it here.`);
  if (message) setNotice(message, state);
  else if (state === 'ready') setNotice('', state);
}

function setNotice(text, kind) {
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
  ui.notice.dataset.kind = kind;
}
