/**
 * The start-up and shutdown frame every service shares: read the configuration (a bad variable ends the process
 * with one clear line and exit code 2), run, and stop cleanly once on SIGTERM/SIGINT within a deadline.
 */
import { type Config, ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

export interface RunningService {
  stop(): Promise<void>;
}

/** docker stop waits 10 s before SIGKILL; we promise to be done well within 2 s. */
export const SHUTDOWN_DEADLINE_MS = 2000;

export async function runService(name: string, start: (config: Config, log: Logger) => Promise<RunningService>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(name, config);
  // Signals are caught from the first moment: one that arrives while the service is still starting (docker stop
  // right after start, Ctrl+C during start-up) is honoured as soon as start-up has finished, never lost.
  let service: RunningService | undefined;
  let requested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    if (!service) {
      requested ??= signal;
      return;
    }
    stopping = true;
    const running = service;
    log.info({ signal }, `${name} stopping`);
    const deadline = setTimeout(() => {
      log.error(`${name} did not stop within ${SHUTDOWN_DEADLINE_MS} ms, exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    running.stop().then(
      () => {
        log.info(`${name} stopped`);
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, `${name} stopped with an error`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    service = await start(config, log);
  } catch (error) {
    log.fatal({ err: error }, `${name} could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  if (requested) stop(requested);
}
