/**
 * What the led-driver knows of the gateway, kept in one place: whether it is online (its retained `gateway/status`,
 * with a last will) and how many controllers it has (its retained `gateway/clients`). The fail-safes read it (the
 * last controller left, the gateway went offline) and so does manual control (a phone is in control).
 */
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
