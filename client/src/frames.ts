/** Turns what the person typed (or the sweep computed, or a recording holds) into a frame in the chosen wire format. */
import { encodeGravityBinary, encodeGravityJson, type Gravity, parseSeedText } from '@gravity-led/shared';
import type { FrameFormat } from './args.js';

export type Frame = string | Uint8Array;

/** A frame to send, and the vector it carries with its number (what a recording keeps). */
export interface Encoded {
  readonly frame: Frame;
  readonly sent: Gravity & { readonly seq: number };
}

export class FrameEncoder {
  private seq = 0;

  constructor(readonly format: FrameFormat) {}

  /**
   * A gravity vector in the chosen format. Every frame is numbered: by its own `seq` (a replayed frame keeps the
   * recorded one), else by a running count. Only JSON frames carry the number on the wire, and the state they
   * produce echoes it.
   */
  encode(g: Gravity): Encoded {
    const seq = g.seq ?? ++this.seq;
    const sent = { x: g.x, y: g.y, z: g.z, seq };
    if (this.format === 'binary') return { frame: encodeGravityBinary(g.x, g.y, g.z), sent };
    if (this.format === 'json') return { frame: encodeGravityJson(sent), sent };
    return { frame: `${g.x} ${g.y} ${g.z}`, sent };
  }

  /**
   * A line from stdin. As text it goes out exactly as typed, as the seed's client did, so the gateway judges it (and
   * answers an error frame if it is wrong); `sent` is there only when it is three numbers. The other formats need
   * three numbers to encode: a line that is not is refused here, with the reason.
   */
  line(text: string): { frame: Frame; sent?: Encoded['sent'] } | { error: string } {
    const parsed = parseSeedText(text);
    if (this.format === 'text') return parsed.ok ? { frame: text, sent: { ...parsed.value, seq: ++this.seq } } : { frame: text };
    return parsed.ok ? this.encode(parsed.value) : { error: parsed.message };
  }
}
