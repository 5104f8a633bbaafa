"""A target whose agent meets descriptor trouble.  ``fds.py --high | --exhaust``

``--high``: descriptors up to 1100 are taken before the agent starts, so its socket's number
is above 1024 (out of ``select()``'s reach).  ``--exhaust``: the agent starts, then every free
descriptor is taken, so that its next ``accept`` fails with EMFILE.  It prints ``ready``, then
answers on stdin: ``ping`` → ``pong``; ``cpu`` → the CPU seconds the process used during one
second of its main thread's sleep; ``free`` → it gives the descriptors back (``freed``).
"""

import os
import resource
import sys
import time

from snarl.remote import agent

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
held = []
if "--high" in sys.argv:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    null = os.open(os.devnull, os.O_RDONLY)
    while len(held) < 1100:
        held.append(os.dup(null))
    started = agent.start_agent()
    print(f"agent fd {started._sock.fileno()}", file=sys.stderr, flush=True)
else:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 256), hard))
    agent.start_agent()
    null = os.open(os.devnull, os.O_RDONLY)
    while True:
        try:
            held.append(os.dup(null))
        except OSError:
            break
print("ready", flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "ping":
        print("pong", flush=True)
    elif command == "cpu":
        before = time.process_time()
        time.sleep(1.0)
        print(f"{time.process_time() - before:.3f}", flush=True)
    elif command == "free":
        for fd in held:
            os.close(fd)
        held.clear()
        print("freed", flush=True)
