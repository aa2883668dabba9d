/**
 * What the phone page and the live view show the same way: the status pill and the notice, the two LEDs (drawn by
 * leds.js), the x y z readout, and why the LEDs cannot be driven. Both pages use the same element ids for these.
 */

export const $ = (id) => document.getElementById(id);

/** The elements both pages have. */
export function sharedElements() {
  return {
    status: $('status'),
    notice: $('notice'),
    readout: { x: $('gx'), y: $('gy'), z: $('gz') },
    leds: { left: $('led-left'), right: $('led-right'), reason: $('reason') },
  };
}

/** The gravity vector in the readout, one decimal each. */
export function showReadout(readout, { x, y, z }) {
  readout.x.textContent = x.toFixed(1);
  readout.y.textContent = y.toFixed(1);
  readout.z.textContent = z.toFixed(1);
}

/**
 * Why the LEDs cannot be driven, from a `hello` (which says only whether they can) or an `unavailable` frame; ''
 * when they can.
 */
export function unavailableNotice(frame) {
  if (frame.type === 'unavailable') return `The LEDs cannot be driven right now: ${frame.reason}.`;
  if (frame.type === 'hello' && !frame.available) {
    return 'The LEDs cannot be driven right now: the LED driver or the MQTT broker is not reachable.';
  }
  return '';
}
