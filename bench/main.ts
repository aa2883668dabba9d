/**
 * `npm run bench`: starts the system as in production (three processes) plus a direct-path gateway without MQTT,
 * and measures, in one run: closed-loop latency at several rates on both paths side by side, throughput under
 * overload, memory idle and under load, and start-up time. Prints a table with the goals and a Markdown table for
 * docs/performance.md, and writes everything as JSON to bench/results/. Not a test: it asserts nothing and never
 * runs in npm test.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { closedLoop, type RateResult } from './closed-loop.js';
import { ControllerClient } from './controller-client.js';
import { parseOptions } from './options.js';
import { cpuMs, ProductionSystem, ROOT, rssMb, SERVICES, ServiceChild } from './production-system.js';
import { summariseProfile } from './profile-summary.js';
import { type Memory, markdownReport, type Results, textReport } from './report.js';
import { flood, type ThroughputResult } from './throughput.js';

const RESULTS_DIR = join(ROOT, 'bench/results');
const PROFILES_DIR = join(RESULTS_DIR, 'profiles');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

async function startDirectGateway(token: string): Promise<{ child: ServiceChild; url: string }> {
  const child = new ServiceChild('direct-gateway', join(ROOT, 'bench/dist/direct-gateway.js'), {
    PATH: process.env.PATH,
    BENCH_TOKEN: token,
  });
  let port: number | undefined;
  child.child.stdout?.on('data', (chunk: Buffer) => {
    const match = /"port":(\d+)/.exec(chunk.toString());
    if (match) port = Number(match[1]);
  });
  await child.until('listening', () => port !== undefined);
  return { child, url: `ws://127.0.0.1:${port}/` };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const machine = {
    nproc: cpus().length,
    cpu: cpuModel(),
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    loadAverage: loadavg()[0] ?? Number.NaN,
  };
  const profileStart = Date.now();
  say('starting broker, gateway and led-driver');
  const { system, startup } = await ProductionSystem.start(options.profile ? { profileDir: PROFILES_DIR } : {});
  // CPU time each service used to get ready: unlike the wall-clock times, hardly affected by a busy machine.
  const startupCpu = Object.fromEntries(SERVICES.map((s) => [s, system.cpu(s)])) as Record<(typeof SERVICES)[number], number>;
  const direct = await startDirectGateway(system.secrets.gatewayToken);
  const clients: ControllerClient[] = [];
  // Ctrl+C also reaches the services (same process group) and stops them; the temporary DATA_DIR is ours to remove.
  process.once('SIGINT', () => {
    say('interrupted: stopping the services');
    Promise.allSettled([direct.child.stop(), system.stop()]).then(() => process.exit(130));
  });
  try {
    await sleep(1000);
    const memory = (): Memory => {
      const m = { broker: system.rss('broker'), gateway: system.rss('gateway'), 'led-driver': system.rss('led-driver') };
      const pss = SERVICES.reduce((sum, s) => sum + system.pss(s), 0);
      return { ...m, total: m.broker + m.gateway + m['led-driver'], pss };
    };
    const idle = memory();
    const directGatewayIdle = rssMb(direct.child.pid);

    const mqttClient = await ControllerClient.connect(system.gatewayUrl, system.secrets.gatewayToken);
    const directClient = await ControllerClient.connect(direct.url, system.secrets.gatewayToken);
    clients.push(mqttClient, directClient);

    const closed: RateResult[] = [];
    let load200: Memory | undefined;
    for (const rate of options.rates) {
      say(`closed loop at ${rate} Hz: ${options.seconds} s on each path`);
      let peak: Memory | undefined;
      const sample = () => {
        const m = memory();
        if (!peak || m.total > peak.total) peak = m;
      };
      const cpu = {
        mqtt: () => Object.fromEntries(SERVICES.map((s) => [s, system.cpu(s)])),
        direct: () => ({ 'direct-gateway': cpuMs(direct.child.pid) }),
      };
      closed.push(await closedLoop({ mqtt: mqttClient, direct: directClient }, cpu, rate, options.seconds, sample));
      if (rate === 200) load200 = peak;
    }

    const throughput: ThroughputResult[] = [];
    const probe = { gateway: () => system.rss('gateway'), broker: () => system.rss('broker'), driver: () => system.rss('led-driver') };
    if (options.floodSeconds > 0) {
      say(`throughput with the default GATEWAY_MAX_RATE=1000: ${options.floodSeconds} s`);
      throughput.push(await flood(mqttClient, options.floodSeconds, 1000, probe));
    }
    await mqttClient.close();
    if (options.raisedRate > 0 && options.floodSeconds > 0) {
      say(`throughput with GATEWAY_MAX_RATE=${options.raisedRate}: ${options.floodSeconds} s`);
      await system.restartGateway({ GATEWAY_MAX_RATE: String(options.raisedRate) });
      await system.driverIsOnline();
      const raised = await ControllerClient.connect(system.gatewayUrl, system.secrets.gatewayToken);
      clients.push(raised);
      throughput.push(await flood(raised, options.floodSeconds, options.raisedRate, probe));
    }

    const results: Results = {
      machine,
      options,
      startup,
      startupCpu,
      memory: { idle, load200, directGatewayIdle },
      closedLoop: closed,
      throughput,
    };
    const file = join(RESULTS_DIR, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(
      `\n${textReport(results)}\nMarkdown for docs/performance.md (## Results):\n\n${markdownReport(results)}\nJSON: ${file}\n`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await direct.child.stop();
    await system.stop();
  }
  if (options.profile) {
    for (const name of readdirSync(PROFILES_DIR)) {
      const service = SERVICES.find((s) => name.startsWith(`${s}-`));
      const at = Number(/-(\d+)\.cpuprofile$/.exec(name)?.[1]);
      if (!service || !(at >= profileStart)) continue;
      process.stdout.write(`\nCPU profile ${join(PROFILES_DIR, name)}\n${summariseProfile(join(PROFILES_DIR, name))}`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
