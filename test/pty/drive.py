#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal and reports what a person at that terminal would see.

Input (argv[1], JSON): argv, env, cols, rows, stdout_pipe (stdout to a pipe, stderr on the terminal),
wait_for (a regular expression to wait for before acting), delay (s to wait after it), send (bytes to type, e.g. "\\u0003" for Ctrl-C), timeout (s).
Output (stdout, JSON): exit code (negative: killed by that signal), the terminal output, stdout when
piped, the terminal modes (termios) while the text waited for was shown and after the process ended,
and whether the text waited for appeared.
"""
import fcntl, json, os, re, select, signal, struct, subprocess, sys, termios, time

spec = json.loads(sys.argv[1])
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', spec.get('rows', 30), spec.get('cols', 100), 0, 0))


def modes(fd):
    lflag = termios.tcgetattr(fd)[3]
    return {'icanon': bool(lflag & termios.ICANON), 'isig': bool(lflag & termios.ISIG), 'echo': bool(lflag & termios.ECHO)}


def become_terminal_owner():
    # After setsid (start_new_session), the terminal on fd 2 becomes this session's controlling terminal,
    # so Ctrl-C typed on it reaches the process as SIGINT, as in a real shell.
    fcntl.ioctl(2, termios.TIOCSCTTY, 0)


env = dict(os.environ)
env.pop('NO_COLOR', None)
env.update(spec.get('env', {}))
child = subprocess.Popen(
    spec['argv'], stdin=slave, stdout=subprocess.PIPE if spec.get('stdout_pipe') else slave, stderr=slave,
    env=env, start_new_session=True, preexec_fn=become_terminal_owner, cwd=spec.get('cwd'),
)
out = b''
piped = b''
deadline = time.time() + spec.get('timeout', 30)
during = None
seen = False
sent = False
wait_for = spec.get('wait_for', '').encode()  # a regular expression
streams = [master] + ([child.stdout.fileno()] if spec.get('stdout_pipe') else [])


def pump(timeout):
    global out, piped
    ready, _, _ = select.select(streams, [], [], timeout)
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if fd == master:
            out += data
        else:
            piped += data


while child.poll() is None and time.time() < deadline:
    pump(0.05)
    if not seen and wait_for and re.search(wait_for, out):
        seen = True
        time.sleep(spec.get('delay', 0))
        during = modes(slave)
        if spec.get('send') is not None:
            os.write(master, spec['send'].encode())
            sent = True
if child.poll() is None:
    child.kill()
code = child.wait()
for _ in range(20):
    pump(0.02)
print(json.dumps({
    'exit': code, 'output': out.decode('utf-8', 'replace'), 'stdout': piped.decode('utf-8', 'replace'),
    'seen': seen, 'sent': sent, 'during': during, 'after': modes(slave), 'timed_out': time.time() >= deadline,
}))
