/** `npm run bench -- [flags]`: how long each part runs, what is compared, and what else to do. */

export interface BenchOptions {
  /** Seconds per steady closed-loop rate, for each path. */
  readonly seconds: number;
  /** Send rates of the steady closed-loop runs, frames per second. */
  readonly rates: readonly number[];
  /** Send rates of the cold runs (the first second of a fresh session). */
  readonly coldRates: readonly number[];
  /** Fresh sessions per cold rate and path. */
  readonly coldRuns: number;
  /** Seconds at 200 Hz before the steady runs. */
  readonly warmupSeconds: number;
  /** Seconds of each as-fast-as-possible throughput run. */
  readonly floodSeconds: number;
  /** GATEWAY_MAX_RATE for the second throughput run; 0 skips it. */
  readonly raisedRate: number;
  /** Run this system's processes under `node --cpu-prof` during the steady runs. */
  readonly profile: boolean;
  /** A built checkout of an earlier commit, measured beside this one in the same run. */
  readonly baseline: string | undefined;
  /** The node binary for the baseline (it may need an older one). */
  readonly baselineNode: string | undefined;
  /** NODE_OPTIONS for this system's processes (to measure a V8 flag). */
  readonly nodeOptions: string | undefined;
  /** Also measure this checkout as three processes, as docker-compose.yml runs it. */
  readonly threeProcesses: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--baseline=DIR] [--seconds=N] [--rates=60,200,1000] [--cold-rates=60,200] [--cold-runs=N]
                      [--warmup=N] [--flood-seconds=N] [--raised-rate=N] [--node-options=...] [--profile]
  --quick            2 s per rate, 2 cold runs, 3 s of warm-up and 3 s per throughput run (a check that everything works)
  --baseline=DIR     also measure DIR's npm start (a built checkout of an earlier commit) in the same run: the goals on
                     CPU per frame are ratios to it (e.g. git worktree add ../baseline 6e65711 && cd ../baseline && npm ci)
  --baseline-node=F  the node binary for the baseline (default: this one)
  --seconds=N        seconds per steady closed-loop rate and path (default 10)
  --rates=a,b,c      steady closed-loop send rates in frames/s (default 60,200,1000)
  --cold-rates=a,b   send rates of the cold runs (default 60,200)
  --cold-runs=N      fresh sessions per cold rate and path, each on a system started for it (default 6)
  --warmup=N         seconds of 200 Hz on each path before the steady runs (default 20)
  --flood-seconds=N  seconds per throughput run, 0 to skip them (default 10)
  --raised-rate=N    GATEWAY_MAX_RATE of the second throughput run, 0 to skip it (default 100000)
  --no-three         skip this checkout as three processes (the broker on its own, as docker-compose.yml runs it)
  --node-options=S   NODE_OPTIONS for this system's processes, e.g. "--max-semi-space-size=1" (to measure a V8 flag)
  --profile          run this system under node --cpu-prof during the steady runs (profiles in bench/results/profiles/)`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let seconds = 10;
  let floodSeconds = 10;
  let rates = [60, 200, 1000];
  let coldRates = [60, 200];
  let coldRuns = 6;
  let warmupSeconds = 20;
  let raisedRate = 100_000;
  let profile = false;
  let baseline: string | undefined;
  let baselineNode: string | undefined;
  let nodeOptions: string | undefined;
  let threeProcesses = true;
  const positive = (name: string, raw: string, allowZero = false): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new Error(`--${name}=${raw}: expected a positive number`);
    return n;
  };
  for (const arg of argv) {
    const at = arg.indexOf('=');
    const flag = at < 0 ? arg : arg.slice(0, at);
    const value = at < 0 ? '' : arg.slice(at + 1);
    switch (flag) {
      case '--quick':
        seconds = 2;
        floodSeconds = 3;
        coldRuns = 2;
        warmupSeconds = 3;
        break;
      case '--seconds':
        seconds = positive('seconds', value);
        break;
      case '--flood-seconds':
        floodSeconds = positive('flood-seconds', value, true);
        break;
      case '--rates':
        rates = value === '' ? [] : value.split(',').map((r) => positive('rates', r));
        break;
      case '--cold-rates':
        coldRates = value === '' ? [] : value.split(',').map((r) => positive('cold-rates', r));
        break;
      case '--cold-runs':
        coldRuns = Math.round(positive('cold-runs', value));
        break;
      case '--warmup':
        warmupSeconds = positive('warmup', value, true);
        break;
      case '--raised-rate':
        raisedRate = Math.round(positive('raised-rate', value, true));
        break;
      case '--baseline':
        baseline = value;
        break;
      case '--baseline-node':
        baselineNode = value;
        break;
      case '--node-options':
        nodeOptions = value;
        break;
      case '--no-three':
        threeProcesses = false;
        break;
      case '--profile':
        profile = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${arg}\n${USAGE}`);
    }
  }
  return {
    seconds,
    rates,
    coldRates,
    coldRuns,
    warmupSeconds,
    floodSeconds,
    raisedRate,
    profile,
    baseline,
    baselineNode,
    nodeOptions,
    threeProcesses,
  };
}
