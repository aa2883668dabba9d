/**
 * What the led-driver knows of the gateway, kept in one place: whether it is online (its retained `gateway/status`,
 * with a last will) and how many controllers it has (its retained `gateway/clients`). The fail-safes read it (the
 * last controller left, the gateway went offline) and so does manual control (a phone is in control).
 */
import { OFFLINE, ONLINE } from '@gravity-led/shared';

export class GatewayPresence {
  private online = false;
  /** The gateway's last announced number of controllers; undefined until it announced one. */
  private clients: number | undefined;

  /** A controller is connected. An offline gateway has none, whatever its last retained count says (its will cannot update that). */
  get controllerConnected(): boolean {
    return this.online && this.clients !== undefined && this.clients > 0;
  }

  setOnline(online: boolean): void {
    this.online = online;
  }

  /** The gateway's new count of controllers; true when it is the last controller leaving (from some to none). */
  setClients(clients: number): boolean {
    const lastLeft = clients === 0 && this.clients !== undefined && this.clients > 0;
    this.clients = clients;
    return lastLeft;
  }
}

/** A `gateway/status` payload: true for `online`, false for `offline`, undefined for anything else. */
export function parseGatewayStatus(payload: Uint8Array): boolean | undefined {
  const status = Buffer.from(payload).toString();
  return status === ONLINE ? true : status === OFFLINE ? false : undefined;
}

/** The controller count of a `gateway/clients` payload (`{"clients": n, "maxClients": m}`), or undefined. */
export function parseGatewayClients(payload: Uint8Array): number | undefined {
  try {
    const { clients } = JSON.parse(Buffer.from(payload).toString('utf8')) as { clients?: unknown };
    return typeof clients === 'number' && Number.isSafeInteger(clients) && clients >= 0 ? clients : undefined;
  } catch {
    return undefined;
  }
}
