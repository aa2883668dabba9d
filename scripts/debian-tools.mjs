// The Debian tools the tests use, as the tests call them; installed when missing if run as root (CI, a fresh Pi),
// otherwise the one `apt-get install` line to run is printed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package -> a program it provides. */
export const TOOLS = {
  'mosquitto-clients': '/usr/bin/mosquitto_pub',
  mosquitto: '/usr/sbin/mosquitto',
  chromium: '/usr/bin/chromium',
  'docker-compose': '/usr/bin/docker-compose',
  openssl: '/usr/bin/openssl',
};

/** Makes sure every package of `tools` is installed; exits the process with a clear line if it cannot. */
export function ensureDebianTools(who, tools = TOOLS) {
  const missing = Object.entries(tools)
    .filter(([, path]) => !existsSync(path))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  const line = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${who} needs Debian packages that are not installed. Run:\n  sudo apt-get update && sudo ${line}\n`);
    process.exit(1);
  }
  process.stdout.write(`== installing ${missing.join(', ')}\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
