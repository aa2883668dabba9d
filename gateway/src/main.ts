/** `npm start -w gateway`: the WebSocket gateway alone (or hosting the broker, GATEWAY_HOSTS_BROKER), exactly as its container runs it. */
import { runService } from '@gravity-led/shared';
import { startGatewayService } from './service.js';

await runService('gateway', startGatewayService);
