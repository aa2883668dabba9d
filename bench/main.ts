/**
 * `npm run bench`: starts the system as `npm start` runs it, plus a direct-path gateway without MQTT (and, with
 * `--baseline=DIR`, an earlier commit's `npm start` beside it), and measures in one run: the closed-loop latency of
 * the first second of fresh sessions (cold) and after warm-up (steady), the CPU time per frame of every process,
 * throughput under overload, memory idle and under load, and start-up time. Prints the goals with pass/miss, the
 * tables as text and as Markdown for docs/performance.md, and writes everything as JSON to bench/results/. Not a
 * test: it asserts nothing and never runs in npm test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '@gravity-led/shared';
import { closedLoop, drive, firstFrames, type Path, type RateResult } from './closed-loop.js';
import { ControllerClient } from './controller-client.js';
import { LaunchedSystem, type Layout, nodeFlags } from './launched-system.js';
import { parseOptions } from './options.js';
import { cpuMs, pssMb, ROOT, rssMb, ServiceChild } from './production-system.js';
import { summariseProfile } from './profile-summary.js';
import { type ColdResult, type MemorySample, markdownReport, type Results, type SystemInfo, textReport } from './report.js';
import { summarise } from './stats.js';
import { flood, type ThroughputResult } from './throughput.js';

const RESULTS_DIR = join(ROOT, 'bench/results');
const PROFILES_DIR = join(RESULTS_DIR, 'profiles');
/** How long a fresh system idles before its first phone connects: a person opening the page after the start. */
const COLD_IDLE_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

/** One of the systems measured: how to start it afresh. */
interface Contender {
  readonly name: string;
  readonly info: SystemInfo;
  start(env?: Record<string, string>): Promise<Running>;
}

/** A started system, as the measurements see it. */
interface Running {
  readonly url: string;
  readonly token: string;
  readonly readyAfterMs: number;
  cpu(): Record<string, number>;
  memory(): MemorySample;
  stop(): Promise<void>;
}

function commitOf(root: string): string {
  const git = spawnSync('git', ['-C', root, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' });
  return git.status === 0 ? git.stdout.trim().slice(0, 72) : 'unknown';
}

function launched(name: string, root: string, node: string, env: Record<string, string>, layout: Layout = 'npm-start'): Contender {
  const commit = commitOf(root);
  return {
    name,
    info: { name, root, commit, node, nodeOptions: env.NODE_OPTIONS ?? '', layout, flags: nodeFlags(join(root, 'package.json')).join(' ') },
    async start(extra = {}) {
      // The free ports are chosen before the system binds them: on a shared machine another process may take one
      // meanwhile. Such a start is tried again on fresh ports rather than losing the whole run.
      let system: LaunchedSystem | undefined;
      for (let attempt = 1; !system; attempt++) {
        try {
          system = await LaunchedSystem.start({ root, node, layout, env: { ...env, ...extra } });
        } catch (error) {
          if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
          say(`${name}: a port was taken before the system could bind it; starting again on fresh ports`);
        }
      }
      const before = system.cpu();
      return {
        url: system.gatewayUrl,
        token: system.secrets.gatewayToken,
        readyAfterMs: system.readyAfterMs,
        cpu: () => system.cpu(),
        memory: () => {
          const m = system.memory();
          return { rss: m.rss, pss: m.pss, byRole: m.byRole, startupCpu: before };
        },
        stop: () => system.stop(),
      };
    },
  };
}

/**
 * The bench-only process in which the real ControllerServer drives the real LedOutput: no MQTT at all (`direct`);
 * or, `split`, the same with the LedOutput in a second process over one TCP socket (`direct-2`): the least that a
 * design with the LEDs in their own process can cost, with no broker (direct-gateway.ts).
 */
function directPath(token: string, split = false): Contender {
  const name = split ? 'direct-2' : 'direct';
  return {
    name,
    info: { name, root: ROOT, commit: '', node: process.execPath, nodeOptions: '', layout: name, flags: NODE_FLAGS.join(' ') },
    async start() {
      const child = new ServiceChild(
        'direct-gateway',
        join(ROOT, 'bench/dist/direct-gateway.js'),
        {
          PATH: process.env.PATH,
          BENCH_TOKEN: token,
          ...(split ? { BENCH_SPLIT: '1' } : {}),
          // With the services' node flags, as npm start runs them (the driver half gets them too).
        },
        [...NODE_FLAGS],
      );
      let port: number | undefined;
      let driverPid: number | undefined;
      child.child.stdout?.on('data', (chunk: Buffer) => {
        const match = /"port":(\d+)(?:,"driverPid":(\d+))?/.exec(chunk.toString());
        if (match) {
          port = Number(match[1]);
          if (match[2]) driverPid = Number(match[2]);
        }
      });
      const readyAfterMs = await child.until('listening', () => port !== undefined);
      const pids: Record<string, number | undefined> = { 'direct-gateway': child.pid, ...(split ? { 'direct-driver': driverPid } : {}) };
      return {
        url: `ws://127.0.0.1:${port}/`,
        token,
        readyAfterMs,
        cpu: () => Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, cpuMs(pid)])),
        memory: () => {
          const byRole = Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, rssMb(pid)]));
          const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
          return {
            rss: sum(Object.values(byRole)),
            pss: sum(Object.values(pids).map((pid) => pssMb(pid))),
            byRole,
            startupCpu: {},
          };
        },
        stop: () => child.stop(),
      };
    },
  };
}

/** Cold: the first second of `runs` fresh sessions at `rate`, each on a system started for it. */
async function cold(contenders: readonly Contender[], rate: number, runs: number, startups: Map<string, Running[]>): Promise<ColdResult> {
  const latencies = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const sent = new Map<string, number>();
  for (let run = 0; run < runs; run++) {
    // The order rotates, so that no system always follows the same one.
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + run) % contenders.length] as Contender;
      const system = await contender.start();
      try {
        await sleep(COLD_IDLE_MS);
        (startups.get(contender.name) ?? startups.set(contender.name, []).get(contender.name))?.push(snapshot(system));
        const client = await ControllerClient.connect(system.url, system.token);
        const recording = await firstFrames(client, rate, 1000);
        await client.close();
        latencies.get(contender.name)?.push(...recording.latencies);
        sent.set(contender.name, (sent.get(contender.name) ?? 0) + recording.sent);
      } finally {
        await system.stop();
      }
    }
  }
  return {
    rate,
    runs,
    paths: Object.fromEntries(
      contenders.map((c) => {
        const summary = summarise(latencies.get(c.name) ?? []);
        return [c.name, { ...summary, sent: sent.get(c.name) ?? 0, coalesced: (sent.get(c.name) ?? 0) - summary.count }];
      }),
    ),
  };
}

/** What a just-started system looked like: ready time, memory and CPU used so far. */
function snapshot(system: Running): Running {
  const memory = system.memory();
  const cpu = system.cpu();
  return { ...system, memory: () => ({ ...memory, startupCpu: cpu }) };
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
  const thisEnv: Record<string, string> = options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {};
  const contenders: Contender[] = [launched('this', ROOT, process.execPath, thisEnv)];
  // The same checkout as docker-compose.yml runs it: three processes, the broker on its own.
  if (options.threeProcesses) contenders.push(launched('this-3', ROOT, process.execPath, thisEnv, 'services'));
  if (options.baseline) contenders.push(launched('baseline', options.baseline, options.baselineNode ?? process.execPath, {}));
  // Any token will do for the direct path; the systems each have their own.
  const direct = directPath('bench-direct-path-token-0123456789');
  const floor = directPath('bench-direct-path-token-0123456789', true);
  const all = [...contenders, direct, floor];
  const running: Running[] = [];
  process.once('SIGINT', () => {
    say('interrupted: stopping the systems');
    Promise.allSettled(running.map((r) => r.stop())).then(() => process.exit(130));
  });

  const startups = new Map<string, Running[]>();
  const coldResults: ColdResult[] = [];
  for (const rate of options.coldRates) {
    say(`cold: the first second of ${options.coldRuns} fresh sessions at ${rate} Hz on each of ${all.map((c) => c.name).join(', ')}`);
    coldResults.push(await cold(all, rate, options.coldRuns, startups));
  }

  say(`steady: starting ${all.map((c) => c.name).join(', ')}`);
  const clients: ControllerClient[] = [];
  const peaks: Record<string, MemorySample> = {};
  const steady: RateResult[] = [];
  const throughput: Record<string, ThroughputResult[]> = {};
  const idle: Record<string, MemorySample> = {};
  try {
    const systems: Record<string, Running> = {};
    for (const contender of all) {
      const profile: Record<string, string> =
        options.profile && contender.name === 'this'
          ? {
              NODE_OPTIONS: `${thisEnv.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${PROFILES_DIR}`.trim(),
            }
          : {};
      if (options.profile) mkdirSync(PROFILES_DIR, { recursive: true });
      const system = await contender.start(profile);
      running.push(system);
      systems[contender.name] = system;
    }
    await sleep(1000);
    for (const [name, system] of Object.entries(systems)) idle[name] = system.memory();
    const paths: Record<string, Path> = {};
    for (const [name, system] of Object.entries(systems)) {
      const client = await ControllerClient.connect(system.url, system.token);
      clients.push(client);
      paths[name] = { client, cpu: () => system.cpu() };
    }
    say(`steady: ${options.warmupSeconds} s of warm-up at 200 Hz on each`);
    await drive(paths, 200, options.warmupSeconds);
    for (const rate of options.rates) {
      say(`steady: closed loop at ${rate} Hz, ${options.seconds} s on each`);
      const sampling: Record<string, Path> = {};
      for (const [name, path] of Object.entries(paths)) {
        const system = systems[name] as Running;
        sampling[name] = {
          ...path,
          during: () => {
            const m = system.memory();
            if (rate === 200 && (!peaks[name] || m.rss > (peaks[name] as MemorySample).rss)) peaks[name] = m;
          },
        };
      }
      steady.push(await closedLoop(sampling, rate, options.seconds));
    }
    await Promise.all(clients.splice(0).map((c) => c.close()));

    if (options.floodSeconds > 0) {
      for (const contender of contenders) {
        const system = systems[contender.name] as Running;
        const results: ThroughputResult[] = [];
        // The gateway's process: the launcher itself where it hosts the gateway (and the broker).
        const rssProbe = (s: Running) => ({
          gateway: () => s.memory().byRole.gateway ?? s.memory().byRole.launcher ?? Number.NaN,
          broker: () => s.memory().byRole.broker ?? Number.NaN,
          driver: () => s.memory().byRole['led-driver'] ?? Number.NaN,
        });
        say(`throughput (${contender.name}) with the default GATEWAY_MAX_RATE=1000: ${options.floodSeconds} s`);
        const client = await ControllerClient.connect(system.url, system.token);
        results.push(await flood(client, options.floodSeconds, 1000, rssProbe(system)));
        await client.close();
        if (options.raisedRate > 0) {
          say(`throughput (${contender.name}) with GATEWAY_MAX_RATE=${options.raisedRate}: ${options.floodSeconds} s`);
          const raised = await contender.start({ GATEWAY_MAX_RATE: String(options.raisedRate) });
          running.push(raised);
          try {
            const c = await ControllerClient.connect(raised.url, raised.token);
            results.push(await flood(c, options.floodSeconds, options.raisedRate, rssProbe(raised)));
            await c.close();
          } finally {
            await raised.stop();
          }
        }
        throughput[contender.name] = results;
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.allSettled(running.map((r) => r.stop()));
  }

  const results: Results = {
    machine,
    options,
    systems: all.map((c) => c.info),
    cold: coldResults,
    steady,
    startup: Object.fromEntries(
      [...startups].map(([name, list]) => [name, list.map((s) => ({ readyAfterMs: s.readyAfterMs, memory: s.memory() }))]),
    ),
    memory: { idle, load200: peaks },
    throughput,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `\n${textReport(results)}\nMarkdown for docs/performance.md (## Results):\n\n${markdownReport(results)}\nJSON: ${file}\n`,
  );
  if (options.profile) {
    for (const name of readdirSync(PROFILES_DIR)) {
      const path = join(PROFILES_DIR, name);
      if (statSync(path).mtimeMs < profileStart) continue;
      process.stdout.write(`\nCPU profile ${path}\n${summariseProfile(path)}`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
