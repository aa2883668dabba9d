/** Structured logs (pino): JSON for machines, readable lines for people at a terminal. */
import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

export function createLogger(service: string, config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>): Logger {
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY === true);
  const options = { name: service, level: config.LOG_LEVEL, base: undefined };
  if (!pretty) return pino(options, pino.destination({ sync: true }));
  return pino(options, prettyStream());
}

/** A small synchronous formatter: `12:00:01 INFO  gateway: message key=value`, no worker thread, no extra package. */
function prettyStream(): { write(line: string): void } {
  const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stdout.write(line);
        return;
      }
      const { level, time, name, msg, ...rest } = record;
      const clock = new Date(typeof time === 'number' ? time : Date.now()).toTimeString().slice(0, 8);
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stdout.write(`${clock} ${levels[level as number] ?? level} ${name}: ${msg ?? ''}${fields ? ` ${fields}` : ''}\n`);
    },
  };
}
