export { freePort, portAccepts } from '@gravity-led/shared';
