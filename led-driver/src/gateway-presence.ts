/**
 * What the led-driver knows of the gateway, kept in one place: whether it is online (its retained `gateway/status`,
 * with a last will), how many controllers it has (its retained `gateway/clients`), and the newest of its generations
 * seen on either topic. The fail-safes read it (the last controller left, the gateway went offline) and so does
 * manual control (a phone is in control).
 *
 * The generation orders the occupancy and the gravity values, which MQTT does not (they are two topics, at two QoS
 * levels): whatever arrives stamped with an older generation of the same gateway run than one already seen was sent
 * before it, and is ignored. So an occupancy of 0 from a phone that has just left, delivered after the first value of
 * the phone that replaced it, does not turn the new phone's LEDs off; and a last value from a phone that has gone,
 * delivered after the occupancy that says so, does not light them again.
 */
import { type Generation, olderGeneration } from '@gravity-led/shared';

/** What an occupancy message changed. */
export type OccupancyChange =
  /** Older than what the driver already acted on: ignored. */
  | 'superseded'
  /** The last controller has gone (some, then none). */
  | 'last-left'
  | 'noted';

export class GatewayPresence {
  private online = false;
  /** The gateway's last announced number of controllers; undefined until it announced one. */
  private clients: number | undefined;
  /** The newest generation seen, on the gravity or the occupancy topic. */
  private generation: Generation | undefined;

  /** A controller is connected. An offline gateway has none, whatever its last retained count says (its will cannot update that). */
  get controllerConnected(): boolean {
    return this.online && this.clients !== undefined && this.clients > 0;
  }

  setOnline(online: boolean): void {
    this.online = online;
  }

  /**
   * A gravity value arrived: true when it is to be applied. A value without a generation (injected by hand) always
   * is; one from the gateway only when no newer generation has been seen.
   */
  gravity(generation: Generation | undefined): boolean {
    return this.advance(generation);
  }

  /** The gateway's new count of controllers, with the generation it starts. */
  setClients(clients: number, generation?: Generation): OccupancyChange {
    if (!this.advance(generation)) return 'superseded';
    const lastLeft = clients === 0 && this.clients !== undefined && this.clients > 0;
    this.clients = clients;
    return lastLeft ? 'last-left' : 'noted';
  }

  /** False for a superseded generation; otherwise remembers it as the newest (a new gateway run replaces the old). */
  private advance(generation: Generation | undefined): boolean {
    if (generation === undefined) return true;
    if (olderGeneration(generation, this.generation)) return false;
    this.generation = generation;
    return true;
  }
}
