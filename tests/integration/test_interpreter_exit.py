"""The main thread at interpreter exit, waiting for non-daemon threads: a thread-join."""

from __future__ import annotations

import json
import textwrap

from ..helpers import run_python

SCRIPT = textwrap.dedent(
    """
    import json, sys, threading, time
    import snarl

    release = threading.Event()

    def worker():
        release.wait()

    def dumper():
        # Poll (bounded) until the main thread is parked inside threading._shutdown.
        deadline = time.monotonic() + 10
        while True:
            snap = snarl.snapshot()
            main = next(t for t in snap.threads if t.main)
            at_exit = any(f.function.endswith("_shutdown") for f in main.frames)
            if at_exit and (main.wait or main.in_call) or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        print(json.dumps(main.to_dict()))
        sys.stdout.flush()
        release.set()

    threading.Thread(target=worker, name="worker").start()
    threading.Thread(target=dumper, name="dumper", daemon=True).start()
    """
)


def test_main_thread_waiting_at_exit_is_a_thread_join(tmp_path):
    script = tmp_path / "exit_join.py"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = run_python(str(script))
    assert proc.returncode == 0, proc.stderr
    main = json.loads(proc.stdout)
    assert main["main"] is True
    assert any(f["function"].endswith("_shutdown") for f in main["frames"])
    assert main["in_call"] is None, f"shown as running in C call {main['in_call']}"
    assert main["state"] == "waiting"
    assert main["wait"]["kind"] == "thread-join"
