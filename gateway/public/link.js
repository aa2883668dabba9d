/**
 * The page's WebSocket to the gateway: same host and scheme as the page (wss on https), the token in the first
 * frame rather than the URL (so a wrong token gets a readable close reason instead of an opaque failed handshake),
 * and reconnection with backoff. A refused token stops it until a new token is given; anything else retries.
 */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
/** A device in use is asked again less eagerly: each attempt is a refusal in the gateway's log. */
const IN_USE_MIN_MS = 3000;
/**
 * The page's copy of the protocol's close codes and reasons (gateway/src/protocol.ts, with their RFC 6455 meaning):
 * plain JS, so the page needs no build step; test/unit/protocol-page.test.ts checks that both say the same.
 */
export const CloseCode = { Normal: 1000, PolicyViolation: 1008, TryAgainLater: 1013 };
export const CloseReason = { WrongToken: 'wrong token' };

export class GatewayLink {
  /**
   * @param {{role: 'controller'|'viewer', token: string, onFrame: (f: any) => void, onStatus: (s: LinkStatus) => void}} options
   * @typedef {{state: 'connecting'|'ready'|'in-use'|'retrying'|'refused'|'stopped', label: string, message: string}} LinkStatus
   * `label` is a word or two for the status pill, `message` the whole story for a notice.
   */
  constructor({ role, token, onFrame, onStatus }) {
    this.role = role;
    this.token = token;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.socket = null;
    this.attempt = 0;
    this.timer = 0;
    this.ready = false;
    this.running = false;
  }

  start() {
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    this.drop();
    this.status('stopped', 'Disconnected', '');
  }

  /** Reconnects as the other role: a viewer only watches, a controller takes a place and drives the LEDs. */
  setRole(role) {
    if (role === this.role && this.socket) return;
    this.role = role;
    this.attempt = 0;
    if (this.running) this.connect();
  }

  setToken(token) {
    this.token = token;
    this.attempt = 0;
    this.running = true;
    this.connect();
  }

  /** Sends a text frame when the link is ready and not backed up; false when it was not sent. */
  send(text) {
    const socket = this.socket;
    if (!this.ready || !socket || socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > 4096) return false;
    socket.send(text);
    return true;
  }

  connect() {
    this.drop();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = this.role === 'viewer' ? '?role=viewer' : '';
    const socket = new WebSocket(`${scheme}//${location.host}/${query}`);
    this.socket = socket;
    this.status('connecting', this.attempt === 0 ? 'Connecting…' : 'Reconnecting…', '');
    socket.addEventListener('open', () => {
      if (this.token) socket.send(JSON.stringify({ type: 'auth', token: this.token }));
    });
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === 'hello') {
        this.ready = true;
        this.attempt = 0;
        this.status('ready', frame.role === 'viewer' ? 'Connected' : 'Controlling', '');
      }
      this.onFrame(frame);
    });
    socket.addEventListener('close', (event) => {
      if (socket !== this.socket) return; // an old socket we replaced on purpose
      this.socket = null;
      this.ready = false;
      this.closed(event.code, event.reason);
    });
  }

  closed(code, reason) {
    if (!this.running) return;
    if (code === CloseCode.PolicyViolation) {
      this.running = false;
      const wrong = reason === CloseReason.WrongToken;
      this.status('refused', wrong ? 'Wrong token' : 'Token needed', wrong ? 'Wrong token' : 'This device needs the access token');
      return;
    }
    const delay = Math.max(BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)], code === CloseCode.TryAgainLater ? IN_USE_MIN_MS : 0);
    this.attempt++;
    // A little jitter so that several pages that lost the gateway together do not all come back at once.
    const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
    const seconds = Math.max(1, Math.round(wait / 1000));
    if (code === CloseCode.TryAgainLater) {
      this.status('in-use', 'In use', `${capitalise(reason || 'the device is in use')}. Trying again in ${seconds} s.`);
    } else {
      this.status('retrying', 'Offline', `Connection lost${reason ? `: ${reason}` : ''}. Reconnecting in ${seconds} s…`);
    }
    this.timer = setTimeout(() => this.connect(), wait);
  }

  drop() {
    clearTimeout(this.timer);
    this.ready = false;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(CloseCode.Normal, 'page closed the link');
  }

  status(state, label, message) {
    this.onStatus({ state, label, message });
  }
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
