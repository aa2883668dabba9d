/**
 * Docker itself, for `npm run test:docker`: the Compose command a person has (Compose v2's `docker compose`, else
 * Debian's `docker-compose` 1.29), run on the repository's docker-compose.yml as a project of its own, with a .env
 * and an override file from a temporary folder.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { COMPOSE_FILE, DOCKER_COMPOSE } from './compose.js';
import { ROOT } from './system.js';

const run = promisify(execFile);

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Only the machine's basics: no variable of ours may reach Compose from the test runner (it would beat .env). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT']) if (process.env[name]) env[name] = process.env[name];
  return env;
}

async function execute(program: string, args: readonly string[], timeoutMs: number): Promise<Result> {
  try {
    const { stdout, stderr } = await run(program, args, { cwd: ROOT, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** Runs a command whose output a person watches (a build), streamed to stderr with each line prefixed; its exit code. */
function stream(program: string, args: readonly string[], prefix: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) process.stderr.write(`${prefix}${line}\n`);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('close', (code) => resolve(code ?? -1));
  });
}

/** `docker ARGS` with its output streamed (a build); resolves with the exit code. */
export function dockerStream(args: readonly string[], prefix: string): Promise<number> {
  return stream('docker', args, prefix);
}

/** `docker ARGS`; resolves with the result whatever the exit code. */
export function docker(args: readonly string[], timeoutMs = 60_000): Promise<Result> {
  return execute('docker', args, timeoutMs);
}

/** `docker ARGS`, its stdout trimmed; throws with stderr if it failed. */
export async function dockerOut(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const result = await docker(args, timeoutMs);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** Compose v2 (`docker compose`) when this Docker has it, else Debian's `docker-compose`. */
export async function composeProgram(): Promise<string[]> {
  return (await docker(['compose', 'version'])).code === 0 ? ['docker', 'compose'] : [DOCKER_COMPOSE];
}

/** One Compose project on the repository's docker-compose.yml: `-p NAME --env-file ENV -f docker-compose.yml -f OVERRIDE`. */
export class ComposeProject {
  constructor(
    readonly program: readonly string[],
    readonly name: string,
    readonly envFile: string,
    readonly overrideFile: string,
  ) {}

  private args(args: readonly string[]): string[] {
    return [...this.program.slice(1), '-p', this.name, '--env-file', this.envFile, '-f', COMPOSE_FILE, '-f', this.overrideFile, ...args];
  }

  /** Runs a Compose command; resolves with the result whatever the exit code. */
  run(args: readonly string[], timeoutMs = 120_000): Promise<Result> {
    return execute(this.program[0] as string, this.args(args), timeoutMs);
  }

  /** Runs a Compose command whose output a person watches (a build): streamed to stderr, each line prefixed. */
  stream(args: readonly string[], prefix: string): Promise<number> {
    return stream(this.program[0] as string, this.args(args), prefix);
  }

  /** The id of the service's container (`ps -q`), or undefined when there is none. */
  async container(service: string): Promise<string | undefined> {
    const result = await this.run(['ps', '-q', service]);
    const id = result.stdout.trim().split('\n')[0];
    return id ? id : undefined;
  }

  /** `docker inspect` of the service's container, parsed. */
  async inspect(service: string): Promise<ContainerState> {
    const id = await this.container(service);
    if (!id) throw new Error(`${this.name}: no container for ${service}`);
    const [info] = JSON.parse(await dockerOut(['inspect', id])) as ContainerState[];
    if (!info) throw new Error(`docker inspect ${id}: nothing`);
    return info;
  }
}

/** What the tests read of `docker inspect`. */
export interface ContainerState {
  Id: string;
  Image: string;
  RestartCount: number;
  Config: { User: string; Image: string };
  HostConfig: { Privileged: boolean; LogConfig: { Type: string; Config: Record<string, string> } };
  State: {
    Status: string;
    Running: boolean;
    ExitCode: number;
    Pid: number;
    Health?: { Status: string; Log?: { Output: string }[] };
  };
}
