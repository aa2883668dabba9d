/** The command-line client as a person runs it: `node client/dist/main.js ARGS`, its output collected as it comes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './system.js';

export interface ClientRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
  /** The JSON lines it printed: the frames the gateway sent. */
  frames: () => { type: string; [key: string]: unknown }[];
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): ClientRun {
  const child = spawn(process.execPath, [join(ROOT, 'client/dist/main.js'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    frames: () =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line)),
  };
}
