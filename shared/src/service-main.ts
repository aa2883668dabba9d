/**
 * The start-up and shutdown frame every service shares: read the configuration (a bad variable ends the process
 * with one clear line and exit code 2), run, and stop cleanly once on SIGTERM/SIGINT/SIGHUP within a deadline.
 * Whatever else ends the process (an uncaught exception, an unhandled rejection, process.exit from anywhere), the
 * cleanups registered with atExit() run first: the led-driver's is "both LEDs off, hardware released".
 */
import { type Config, ConfigError, loadConfig } from './config.js';
import { errorMessage } from './errors.js';
import { createLogger, type Logger } from './logger.js';

export interface RunningService {
  stop(): Promise<void>;
}

/** docker stop waits 10 s before SIGKILL; we promise to be done well within 2 s. */
export const SHUTDOWN_DEADLINE_MS = 2000;

/** The signals that stop a service: `docker stop` (SIGTERM), Ctrl+C (SIGINT), the terminal going away (SIGHUP). */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Gives the process's listeners of STOP_SIGNALS back their place in the operating system, after a native library
 * has installed its own handlers over them. The pigpio C library does exactly that in gpioInitialise(): a
 * sigaction() for every signal 0..63 (pigpio.c, sigSetHandler), whose handler ends in `gpioTerminate(); exit(-1)`
 * (sigHandler), so a listener registered before it never runs again (fivdi/pigpio#10, #127; joan2937/pigpio#449).
 *
 * Node asks libuv to install its handler only when a signal gets its first listener, and to remove it when the
 * last one goes: removing every listener of a signal and adding them back (in order, `once` wrappers included)
 * makes libuv call sigaction() again, over the library's handler. Between the two steps, a few microseconds of
 * synchronous code, the signal has its default action.
 */
export function reclaimSignals(): void {
  for (const signal of STOP_SIGNALS) {
    const listeners = process.rawListeners(signal) as NodeJS.SignalsListener[];
    if (listeners.length === 0) continue;
    process.removeAllListeners(signal);
    for (const listener of listeners) process.on(signal, listener);
  }
}

const lastResorts = new Set<() => void>();

function runLastResorts(): void {
  for (const cleanup of [...lastResorts]) {
    lastResorts.delete(cleanup);
    try {
      cleanup();
    } catch (error) {
      process.stderr.write(`cleanup at exit failed: ${errorMessage(error)}\n`);
    }
  }
}

/**
 * Registers a synchronous cleanup that runs when the process exits by any path that runs JavaScript at all:
 * process.exit() (the shutdown deadline, a fatal error), the end of the event loop, after an uncaught exception or
 * an unhandled rejection. Not after SIGKILL or a native crash: nothing runs then. Returns the unregistration.
 */
export function atExit(cleanup: () => void): () => void {
  if (lastResorts.size === 0 && !process.listeners('exit').includes(runLastResorts)) process.on('exit', runLastResorts);
  lastResorts.add(cleanup);
  return () => lastResorts.delete(cleanup);
}

/** What a running service may do to itself: stop the orderly way, as a signal would, and exit with `code`. */
export interface ServiceControl {
  stop(reason: string, code: number): void;
  /**
   * Aborted as soon as a stop is asked for (a signal, stop() above), even while the service is still starting: what
   * start-up may cut short (the led-driver's warm-up) ends then, and the stop is honoured once start-up returns.
   */
  readonly stopping: AbortSignal;
}

export async function runService(
  name: string,
  start: (config: Config, log: Logger, control: ServiceControl) => Promise<RunningService>,
): Promise<void> {
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
  let requested: { reason: string; code: number } | undefined;
  let stopping = false;
  const stopRequest = new AbortController();
  const stop = (reason: string, code = 0) => {
    if (stopping) return;
    stopRequest.abort(reason);
    if (!service) {
      requested ??= { reason, code };
      return;
    }
    stopping = true;
    const running = service;
    log.info({ signal: reason }, `${name} stopping`);
    const deadline = setTimeout(() => {
      log.error(`${name} did not stop within ${SHUTDOWN_DEADLINE_MS} ms, exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    running.stop().then(
      () => {
        log.info(`${name} stopped`);
        process.exit(code);
      },
      (error: unknown) => {
        log.error({ err: error }, `${name} stopped with an error`);
        process.exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => stop(signal));
  // Started by a parent through an IPC channel (npm start starts its led-driver so): the channel closes when the
  // parent is gone by any path, kill -9 and a crash included, and this process must not outlive it. Left running, it
  // would hold its ports and, at the next npm start, drive the pins beside the new led-driver. Unreferenced, the
  // channel never keeps the process alive by itself.
  if (process.channel) {
    process.channel.unref();
    process.on('disconnect', () => {
      log.warn(`${name}: the process that started it is gone: stopping`);
      stop('parent-gone', 1);
    });
  }
  // The last line of defence: an error nobody caught stops the service the orderly way (for the led-driver: LEDs off,
  // `shutdown` published, `offline`), bounded by the same deadline, and exits 1. Before the service is running, or
  // when the error strikes while it is stopping, it exits at once and the atExit() cleanups do what is essential.
  const fault = (kind: string) => (error: unknown) => {
    log.fatal({ err: error }, `${name}: ${kind}: ${errorMessage(error)}`);
    if (!service || stopping) process.exit(1);
    stop(kind, 1);
  };
  process.on('uncaughtException', fault('uncaught exception'));
  process.on('unhandledRejection', fault('unhandled rejection'));
  try {
    service = await start(config, log, { stop, stopping: stopRequest.signal });
  } catch (error) {
    // A setup the configuration cannot satisfy (e.g. LED_BACKEND=auto on a Raspberry Pi without usable GPIO) is
    // refused like a bad variable: one line, exit 2.
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(2);
    }
    log.fatal({ err: error }, `${name} could not start: ${errorMessage(error)}`);
    process.exit(1);
  }
  if (requested) stop(requested.reason, requested.code);
}
