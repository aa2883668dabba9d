/** `npm run bench -- [flags]`: how long each part runs, and what else to do. */

export interface BenchOptions {
  /** Seconds per closed-loop rate, for each of the two paths. */
  readonly seconds: number;
  /** Send rates of the closed-loop runs, frames per second. */
  readonly rates: readonly number[];
  /** Seconds of each as-fast-as-possible throughput run. */
  readonly floodSeconds: number;
  /** GATEWAY_MAX_RATE for the second throughput run; 0 skips it. */
  readonly raisedRate: number;
  /** Run gateway and led-driver under `node --cpu-prof`, profiles into bench/results/profiles. */
  readonly profile: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--seconds=N] [--rates=60,200,1000] [--flood-seconds=N] [--raised-rate=N] [--profile]
  --quick            2 s per rate and 3 s per throughput run (a check that everything works, not numbers to quote)
  --seconds=N        seconds per closed-loop rate and path (default 10)
  --rates=a,b,c      closed-loop send rates in frames/s (default 60,200,1000)
  --flood-seconds=N  seconds per throughput run, 0 to skip them (default 10)
  --raised-rate=N    GATEWAY_MAX_RATE of the second throughput run, 0 to skip it (default 100000)
  --profile          run gateway and led-driver under node --cpu-prof (profiles in bench/results/profiles/)`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let seconds = 10;
  let floodSeconds = 10;
  let rates = [60, 200, 1000];
  let raisedRate = 100_000;
  let profile = false;
  const positive = (name: string, raw: string, allowZero = false): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new Error(`--${name}=${raw}: expected a positive number`);
    return n;
  };
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=', 2) as [string, string | undefined];
    switch (flag) {
      case '--quick':
        seconds = 2;
        floodSeconds = 3;
        break;
      case '--seconds':
        seconds = positive('seconds', value);
        break;
      case '--flood-seconds':
        floodSeconds = positive('flood-seconds', value, true);
        break;
      case '--rates':
        rates = value.split(',').map((r) => positive('rates', r));
        break;
      case '--raised-rate':
        raisedRate = Math.round(positive('raised-rate', value, true));
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
  return { seconds, rates, floodSeconds, raisedRate, profile };
}
