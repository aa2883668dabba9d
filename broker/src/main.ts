/** `npm start -w broker`: the embedded MQTT broker alone, exactly as its container runs it. */
import { runService } from '@gravity-led/shared';
import { startBrokerService } from './service.js';

await runService('broker', startBrokerService);
