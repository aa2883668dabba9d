/**
 * docker-compose.yml as data: parsed raw (to check what it says) or resolved by Debian's docker-compose against a
 * given .env (to run its services as plain local processes, exactly as the containers would be configured).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ROOT } from './system.js';

const run = promisify(execFile);
export const DOCKER_COMPOSE = '/usr/bin/docker-compose';
export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

export interface ComposeService {
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  image?: string;
  pull_policy?: string;
  restart?: string;
  working_dir?: string;
  command?: string[];
  user?: string;
  logging?: { driver: string; options?: Record<string, string> };
  privileged?: boolean;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  devices?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export const SERVICES = ['broker', 'gateway', 'led-driver'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const DOCKERFILE = join(ROOT, 'Dockerfile');

/**
 * The image's build arguments, which docker-compose.yml takes from .env besides the configuration variables, with
 * their defaults (the Dockerfile's `ARG` lines must give the same).
 */
export const BUILD_ARGUMENTS: Readonly<Record<string, string>> = { NODE_VERSION: '24', WITH_PIGPIO: 'true' };

/** The Dockerfile's instructions, one per entry (continuation lines joined), with the stage each belongs to. */
export function dockerfileInstructions(): { stage: string; keyword: string; args: string }[] {
  const joined = readFileSync(DOCKERFILE, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const instructions: { stage: string; keyword: string; args: string }[] = [];
  let stage = '';
  let unnamed = 0;
  for (const line of joined) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read ${JSON.stringify(line)}`);
    const [, keyword = '', args = ''] = m;
    if (keyword === 'FROM') stage = / AS (\S+)$/i.exec(args)?.[1] ?? `stage-${unnamed++}`;
    instructions.push({ stage, keyword, args: args.trim() });
  }
  return instructions;
}

export function rawCompose(): { text: string; file: ComposeFile } {
  const text = readFileSync(COMPOSE_FILE, 'utf8');
  return { text, file: parse(text) as ComposeFile };
}

/**
 * Runs docker-compose on a copy of the file in a folder of its own, as on a fresh clone: with no .env, or with the
 * given one. Resolves with its exit code, stdout and stderr.
 */
export async function dockerCompose(
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gravity-led-compose-'));
  try {
    copyFileSync(COMPOSE_FILE, join(dir, 'docker-compose.yml'));
    if (env)
      writeFileSync(
        join(dir, '.env'),
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      );
    // Only the machine's basics: no variable of ours may leak in from the test runner's environment.
    const clean = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir };
    try {
      const { stdout, stderr } = await run(DOCKER_COMPOSE, args, { cwd: dir, env: clean, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file as docker-compose resolves it against `env` (the .env a person would write). */
export async function resolvedCompose(env: Record<string, string>): Promise<ComposeFile> {
  const result = await dockerCompose(['config'], env);
  if (result.code !== 0) throw new Error(`docker-compose config failed: ${result.stderr}`);
  return parse(result.stdout) as ComposeFile;
}

/** Every `${VAR...}` the file interpolates, with the default it gives (undefined for `${VAR}` without one). */
export function interpolations(text: string): { name: string; fallback: string | undefined; raw: string }[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g)].map((m) => ({
    raw: m[0],
    name: m[1] as string,
    fallback: m[2],
  }));
}

/** The configuration variables a service's code reads (`config.NAME` in its own sources and in shared/). */
export function variablesRead(service: ServiceName): Set<string> {
  const names = new Set<string>();
  for (const dir of [join(ROOT, service, 'src'), join(ROOT, 'shared', 'src')]) {
    for (const file of listTs(dir)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bconfig\.([A-Z][A-Z0-9_]+)\b/g)) names.add(m[1] as string);
    }
  }
  return names;
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Runs a healthcheck's `CMD` as a local process with the service's environment; resolves with its exit code. */
export function runHealthcheck(test: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const [kind, program, ...args] = test;
  if (kind !== 'CMD' || program !== 'node') throw new Error(`unexpected healthcheck ${JSON.stringify(test)}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, cwd, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code ?? -1));
  });
}

/** One compose service run as a plain local process: its command, its working folder, its resolved environment. */
export class LocalService {
  readonly lines: { msg?: string; [key: string]: unknown }[] = [];
  readonly raw: string[] = [];
  private readonly child;

  constructor(
    readonly name: string,
    readonly command: string[],
    readonly cwd: string,
    readonly env: NodeJS.ProcessEnv,
  ) {
    const [program, ...args] = command;
    if (!program) throw new Error(`${name}: empty command`);
    this.child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          // not a log record
        }
      }
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  log(text: string): { msg?: string; [key: string]: unknown } | undefined {
    return this.lines.find((l) => typeof l.msg === 'string' && l.msg.includes(text));
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.running) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.kill(signal);
    });
  }
}
