/**
 * The embedded broker alone, in the test's own process (startBroker, the broker package's public API): an MQTT port
 * on loopback for the given accounts, the other doors off, logging silenced, topics under `gravity-led`.
 */
import { type RunningBroker, startBroker } from '@gravity-led/broker';
import { type Account, createLogger, topicsFor } from '@gravity-led/shared';
import { freePort } from './ports.js';

export async function startEmbeddedBroker(accounts: {
  service: Account;
  operator: Account;
}): Promise<{ broker: RunningBroker; url: string }> {
  const port = await freePort();
  const broker = await startBroker({
    host: '127.0.0.1',
    port,
    wsPort: 0,
    tlsPort: 0,
    secrets: accounts,
    prefix: 'gravity-led',
    topics: topicsFor('gravity-led'),
    log: createLogger('broker', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
  });
  return { broker, url: `mqtt://127.0.0.1:${port}` };
}
