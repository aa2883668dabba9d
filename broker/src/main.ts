/** `npm start -w broker`: the embedded MQTT broker alone, exactly as its container runs it. */
import { runService } from '@gravity-led/shared';
import { startBrokerService } from './service.js';
import { warmUpBroker } from './warm-up.js';

await runService('broker', async (config, log, control) => {
  // Before the doors open, so that the first phone's frames through them run compiled code (warm-up.ts).
  if (config.WARMUP_FRAMES > 0) {
    log.debug({ frames: config.WARMUP_FRAMES }, `warming up: ${config.WARMUP_FRAMES} frames through private brokers in turn`);
    const result = await warmUpBroker({ frames: config.WARMUP_FRAMES, prefix: config.TOPIC_PREFIX, signal: control.stopping });
    if (result.cutShort) {
      log.warn(
        { frames: result.frames, asked: config.WARMUP_FRAMES, why: result.cutShort },
        `warm-up ended early (${result.cutShort}); starting as it is`,
      );
    } else log.info({ frames: result.frames, ms: result.ms }, `warmed up: ${result.frames} frames in ${result.ms} ms`);
  }
  return startBrokerService(config, log);
});
