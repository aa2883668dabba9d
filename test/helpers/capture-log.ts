/** A pino logger that keeps its records in memory, to assert on what a component says. */
import { Writable } from 'node:stream';
import type { Logger } from '@gravity-led/shared';
import { pino } from 'pino';

export interface Record {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLog(): { log: Logger; records: Record[] } {
  const records: Record[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Record);
      done();
    },
  });
  return { log: pino({ level: 'trace', base: undefined }, sink), records };
}
