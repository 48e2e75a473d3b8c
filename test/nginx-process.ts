import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { until } from './helpers.js';

/** Debian's nginx; .ci/run installs it. */
export const NGINX = '/usr/sbin/nginx';

/** The config lines that keep nginx's temporary files in the test's own `dir` (it needs `dir`/tmp to exist). */
export function nginxTempPaths(dir: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${dir}/tmp/${k === 'client_body' ? 'body' : k};`).join('\n  ');
}

/**
 * A real nginx, one foreground process for a test file: `conf` is written to `dir`/nginx.conf (its error log
 * and pid there too, none in /var/log or /run), started, and waited for until it accepts on `port`.
 * `stop()` kills it and waits for the exit; it is killed too if the test process exits first.
 */
export async function startNginx(dir: string, conf: string, port: number, who: string): Promise<{ process: ChildProcess; stop: () => Promise<void> }> {
  if (!existsSync(NGINX)) throw new Error(`${who} need ${NGINX} (Debian package nginx; .ci/run installs it)`);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  let output = '';
  // -e: the error log before the config is read is ours too, not /var/log/nginx's.
  const nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${dir}/nginx.pid;`], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stdout!.on('data', (d) => (output += d));
  nginx.stderr!.on('data', (d) => (output += d));
  const kill = () => nginx.kill('SIGKILL');
  process.once('exit', kill);
  await until(
    () =>
      new Promise<boolean>((r) => {
        if (nginx.exitCode !== null) throw new Error(`nginx exited: ${output}${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
        const s = netConnect(port, '127.0.0.1', () => (s.destroy(), r(true)));
        s.on('error', () => r(false));
      }),
    'nginx accepting',
    10_000,
  );
  const stop = async () => {
    process.off('exit', kill);
    if (nginx.exitCode !== null) return;
    const exited = new Promise((r) => nginx.once('exit', r));
    kill();
    await exited;
  };
  return { process: nginx, stop };
}
