#!/usr/bin/env node
/** `npm run client -- --url ws://HOST:5678 --token T`: the command-line controller (and `--replay FILE --mqtt URL`). */
import { HELP, parseClientArgs, UsageError } from './args.js';
import { runClient } from './client.js';
import { runMqttReplay } from './mqtt-replay.js';

let options: ReturnType<typeof parseClientArgs>;
try {
  options = parseClientArgs(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`client: ${error.message}\nTry --help.\n`);
  process.exit(2);
}
if (!options) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const stop = new AbortController();
process.on('SIGINT', () => stop.abort());
process.on('SIGTERM', () => stop.abort());
// A reader that went away (`client | head`) is no reason for a stack trace.
process.stdout.on('error', () => stop.abort());

const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, stop: stop.signal };
const { mqtt, replay } = options;
const code = mqtt && replay ? await runMqttReplay({ ...options, mqtt, replay }, io) : await runClient(options, io);
process.exit(code);
