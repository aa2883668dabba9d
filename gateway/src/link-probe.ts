/**
 * The WebSocket round trip to one client, by ping and pong. RFC 6455 section 5.5.3: a Pong sent in response to a
 * Ping "MUST have identical 'Application data' as found in the message body of the Ping frame being replied to", so
 * a numbered ping is matched to its own pong, whatever other pings (the heartbeat's, which carry no data) are in
 * flight. Browsers answer pings in their network stack, so the figure is the network's, not the page script's.
 */
const ID_BYTES = 4;

export class LinkProbe {
  private nextId = 0;
  private pending: { id: number; at: number; onRoundTrip: (ms: number) => void } | undefined;

  /** The data of a new probe ping; a previous probe still unanswered is given up (its pong, if late, is not counted). */
  ping(onRoundTrip: (ms: number) => void): Buffer {
    this.nextId = (this.nextId + 1) >>> 0;
    const data = Buffer.alloc(ID_BYTES);
    data.writeUInt32BE(this.nextId);
    this.pending = { id: this.nextId, at: performance.now(), onRoundTrip };
    return data;
  }

  /** A pong arrived: if it answers the probe, the round trip is told. */
  pong(data: Buffer): void {
    const probe = this.pending;
    if (!probe || data.length !== ID_BYTES || data.readUInt32BE(0) !== probe.id) return;
    this.pending = undefined;
    probe.onRoundTrip(performance.now() - probe.at);
  }
}
