"""App processes without the interpreter's start-up each time: a zygote that has imported the app and the Azure SDK
once forks a process per run (the way Android's zygote and Python's forkserver start theirs).

Each run is still its own process: its environment is exactly the one given, its stdout and stderr are its own
files, it runs the real entry point (`python -m read_secret`, or a script as `python <script>`) and its exit code is
what `sys.exit` gave. What it shares with the zygote is what was imported, and the network guard, which the zygote's
start-up installed (tests/fakes/netguard). The random generator is seeded afresh in each, as a new interpreter's is.
What a fork cannot show, that the app starts in a new interpreter, is shown by the tests that start one
(`run_app(..., fresh=True)`, tests/app/test_contract.py, the rehearsal script's test).

Run as a script by `Zygote`; POSIX only (fork), as the tests are.
"""

from __future__ import annotations

import json
import os
import random
import runpy
import signal
import sys
import time
import traceback


def _child(request: dict) -> None:
    """In the forked process: become the requested run, then leave with its exit code."""
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        random.seed()
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        sys.argv = [request["target"]]
        try:
            if request["kind"] == "module":
                runpy.run_module(request["target"], run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(request["target"], run_name="__main__")
            code = 0
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
        except BaseException:  # as an interpreter would: the traceback on stderr, exit 1
            traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(code)


def serve(preload: list[str]) -> None:
    """Import `preload`, then answer each request line on stdin with the exit code of a forked run."""
    for module in preload:
        __import__(module)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps(_wait(pid, request["timeout"])), flush=True)


def _wait(pid: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"code": os.waitstatus_to_exitcode(status)}
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"code": -signal.SIGKILL, "timed_out": True}
        time.sleep(0.002)


if __name__ == "__main__":
    # The app's directory first, as `python -m read_secret` run there has it; not this script's own directory,
    # whose azure.py (the fakes) would shadow the Azure SDK.
    sys.path[0] = sys.argv[1]
    serve(sys.argv[2:])
