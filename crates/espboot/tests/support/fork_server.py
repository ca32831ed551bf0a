# The reference-tool fork server of tests/support/tool_server.rs.
#
# Started as `python fork_server.py SCRIPT MODULE...`: imports the modules
# the console script SCRIPT imports (the expensive part of a Python tool's
# start-up), then serves batches of runs. A batch is one JSON line on stdin,
# a list of runs {"args", "cwd", "stdin", "stdout", "stderr"}; each run is a
# forked child that becomes `SCRIPT ARGS...` as a fresh process would be,
# with its streams in the files named (stderr null: into the stdout file).
# The reply is one JSON line: the raw wait statuses, in the batch's order.
#
# espefuse parses its chip's eFuse table (efuse_defs/CHIP.yaml) with
# PyYAML's pure-Python loader twice per run, most of a forked run's time.
# The server parses every table once before it serves, and a child's
# `yaml.safe_load` of one of those files, with the same text, gets a fresh
# copy of the same value (a pure function of the text; libyaml's parser
# builds the same objects: the constructor and resolvers are PyYAML's own).
# Any other stream goes to PyYAML as before.
#
# The server never uses its own stdio: the requests are read from a copy of
# fd 0 and the replies written to a copy of fd 1, and fds 0 and 1 then point
# at /dev/null, so no byte of the protocol is buffered in sys.stdin or
# sys.stdout when a child starts.

import atexit
import importlib
import json
import os
import runpy
import sys
import traceback


def exit_code(exc):
    # what the interpreter makes of SystemExit(code) at the top level
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:
        pass
    return 1


def outermost_script_frame(tb, script):
    # drop the frames of this server and of runpy: a process running the
    # script directly starts its traceback at the script's own frame
    first = tb
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    return tb if tb is not None else first


def become(run, script, private):
    for fd in private:
        os.close(fd)
    os.chdir(run["cwd"])
    stdin = os.open(run["stdin"] or os.devnull, os.O_RDONLY)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    stdout = os.open(run["stdout"], flags, 0o600)
    stderr = stdout if run["stderr"] is None else os.open(run["stderr"], flags, 0o600)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    for fd in {stdin, stdout, stderr}:
        os.close(fd)
    sys.argv = [script] + run["args"]
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException as exc:
        # (the interpreter's hook prints the exception's own traceback)
        exc.__traceback__ = outermost_script_frame(exc.__traceback__, script)
        sys.excepthook(type(exc), exc, exc.__traceback__)
        code = 1
    # what interpreter shutdown does before the process ends
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = code or 120
    return code


def memoize_efuse_tables():
    espefuse = sys.modules.get("espefuse")
    if espefuse is None:
        return
    import glob
    import pickle

    import yaml  # (espefuse's chip modules import it too)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    tables = {}
    pattern = os.path.join(os.path.dirname(espefuse.__file__), "efuse_defs", "*.yaml")
    for path in glob.glob(pattern):
        with open(path) as table:
            text = table.read()
        tables[os.path.realpath(path)] = (text, pickle.dumps(yaml.load(text, Loader=loader)))
    safe_load = yaml.safe_load

    def memoized_safe_load(stream):
        name = getattr(stream, "name", None)
        known = tables.get(os.path.realpath(name)) if isinstance(name, str) else None
        if known is not None:
            start = stream.tell()
            if stream.read() == known[0]:
                return pickle.loads(known[1])
            stream.seek(start)
        return safe_load(stream)

    yaml.safe_load = memoized_safe_load


def serve(script, jobs):
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    private = (requests.fileno(), replies)
    for line in requests:
        runs = json.loads(line)
        statuses = [None] * len(runs)
        running = {}
        pending = list(enumerate(runs))
        pending.reverse()
        while pending or running:
            while pending and len(running) < jobs:
                index, run = pending.pop()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    code = 125
                    try:
                        code = become(run, script, private)
                    except BaseException:
                        traceback.print_exc()
                    finally:
                        os._exit(code)
                running[pid] = index
            pid, status = os.wait()
            statuses[running.pop(pid)] = status
        os.write(replies, (json.dumps(statuses) + "\n").encode())


def main():
    script, jobs, modules = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    # a script run directly has its own directory first on the path
    sys.path[0] = os.path.dirname(script)
    for name in modules:
        importlib.import_module(name)
    memoize_efuse_tables()
    serve(script, jobs)


main()
