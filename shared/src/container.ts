/** Whether this process runs in a container, where the machine's own names and addresses are not the Pi's. */
import { existsSync } from 'node:fs';

/** Docker and Podman leave these files in every container. */
export function runningInContainer(): boolean {
  return existsSync('/.dockerenv') || existsSync('/run/.containerenv');
}
