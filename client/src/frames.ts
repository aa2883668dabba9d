/** Turns what the person typed (or the sweep computed) into a frame in the chosen wire format. */
import { encodeGravityBinary, encodeGravityJson, type Gravity, parseSeedText } from '@gravity-led/shared';
import type { FrameFormat } from './args.js';

export type Frame = string | Uint8Array;

export class FrameEncoder {
  private seq = 0;

  constructor(readonly format: FrameFormat) {}

  /** A gravity vector in the chosen format; JSON frames carry a running `seq`, echoed in the state it produced. */
  encode(g: Gravity): Frame {
    if (this.format === 'binary') return encodeGravityBinary(g.x, g.y, g.z);
    if (this.format === 'json') return encodeGravityJson({ x: g.x, y: g.y, z: g.z, seq: ++this.seq });
    return `${g.x} ${g.y} ${g.z}`;
  }

  /**
   * A line from stdin. As text it goes out exactly as typed, as the seed's client did, so the gateway judges it (and
   * answers an error frame if it is wrong). The other formats need three numbers to encode: a line that is not is
   * refused here, with the reason.
   */
  line(text: string): { frame: Frame } | { error: string } {
    if (this.format === 'text') return { frame: text };
    const parsed = parseSeedText(text);
    return parsed.ok ? { frame: this.encode(parsed.value) } : { error: parsed.message };
  }
}
