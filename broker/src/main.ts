/** `npm start -w broker`: the embedded MQTT broker alone, exactly as its container runs it. */
import { errorMessage, runService } from '@gravity-led/shared';
import { startBrokerService } from './service.js';
import { warmUpBroker } from './warm-up.js';

await runService('broker', async (config, log, control) => {
  // Before the doors open, so that the first phone's frames through them run compiled code (warm-up.ts).
  if (config.WARMUP_FRAMES > 0) {
    log.debug({ frames: config.WARMUP_FRAMES }, `warming up: ${config.WARMUP_FRAMES} frames through private brokers in turn`);
    const { frames, ms, outcome, error } = await warmUpBroker({
      frames: config.WARMUP_FRAMES,
      prefix: config.TOPIC_PREFIX,
      signal: control.stopping,
    });
    if (outcome === 'done') log.info({ frames, ms }, `warmed up: ${frames} frames in ${ms} ms`);
    else {
      // Its deadline, a stop, or what failed.
      const why = error ? errorMessage(error) : outcome;
      log.warn({ frames, asked: config.WARMUP_FRAMES, why }, `warm-up ended early (${why}); starting as it is`);
    }
  }
  return startBrokerService(config, log);
});
