/** The two LEDs as the page draws them: a glow whose opacity is the duty cycle, and the number beside it. */

/** Why the LEDs are dark (or set by someone else), in words; `gravity` needs none. Matches the README's reasons. */
const REASONS = {
  start: 'The LED driver has just started.',
  stale: 'Fail-safe: no fresh tilt value arrived, so both LEDs are off.',
  'controller-left': 'The controller disconnected, so both LEDs are off.',
  'gateway-offline': 'The gateway went offline, so both LEDs are off.',
  'broker-lost': 'The LED driver lost the MQTT broker, so both LEDs are off.',
  shutdown: 'The LED driver is shutting down.',
  manual: 'Set by hand over MQTT.',
};

export function describeReason(reason) {
  return REASONS[reason] ?? '';
}

/** Updates one LED: `root` holds a `.glow` and an `output`. */
export function showLed(root, duty) {
  const value = Number.isFinite(duty) ? Math.max(0, Math.min(100, duty)) : 0;
  root.querySelector('.glow').style.opacity = String(value / 100);
  root.querySelector('output').textContent = `${Math.round(value)} %`;
  root.dataset.duty = String(value);
}

export function showState(frame, { left, right, reason }) {
  showLed(left, frame.left);
  showLed(right, frame.right);
  reason.textContent = describeReason(frame.reason);
}
