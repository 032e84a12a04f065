# The program cc runs on an ssh host, with the host's python3, for as long as cc's connection to it lasts.
# It is sent on the standard input of `python3 -u -c <bootstrap>` and speaks JSON lines on stdin/stdout:
#
#   request  {"id": 7, "op": "sh", "script": "...", "timeout": 60}   run `sh -s` with the script as its input
#   request  {"id": 8, "op": "run", "command": "...", "stdin": "<base64>"}   run a command through $SHELL -c
#   answer   {"id": 7, "code": 0, "out": "<base64>", "err": "<base64>"}
#   request  {"id": 9, "op": "watch", "folder": "/abs/job/folder", "log": "/abs/log", "offset": 0}
#   request  {"id": 10, "op": "unwatch", "folder": "..."}
#   events   {"ev": "log", "folder": ..., "offset": N, "data": "<base64>"}     the log grew (bytes from N on)
#            {"ev": "exit", "folder": ..., "code": 0, "cancelled": false, "reason": "", "size": N}
#            {"ev": "gone", "folder": ...}   the job is not running and left no exit code (or no folder):
#                                            cc asks with its usual status command instead
#
# The job's durable files (cc.exit_code, cc.pid, the log) stay the truth; this program only notices them at once.
# It uses nothing but the standard library of Python 3.6+. It ends when its standard input closes.
import base64
import json
import os
import subprocess
import sys
import threading
import time

TICK = 0.02
ALIVE_EVERY = 1.0
CHUNK = 256 << 10
_out = sys.stdout.buffer
_out_lock = threading.Lock()
_watched = {}
_watched_lock = threading.Lock()


def send(message):
    line = (json.dumps(message, separators=(",", ":")) + "\n").encode()
    with _out_lock:
        _out.write(line)
        _out.flush()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def run_request(request):
    answer = {"id": request.get("id")}
    try:
        timeout = float(request.get("timeout") or 60)
        if request["op"] == "sh":
            argv, data = ["sh", "-s"], request["script"].encode()
        else:
            argv = [os.environ.get("SHELL") or "/bin/sh", "-c", request["command"]]
            data = base64.b64decode(request.get("stdin") or "")
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   close_fds=True)
        try:
            out, err = process.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            answer["timeout"] = True
        answer.update(code=process.returncode, out=b64(out), err=b64(err))
    except Exception as exc:  # noqa: BLE001 - said to cc, which falls back to a plain command
        answer["error"] = "%s: %s" % (type(exc).__name__, exc)
    send(answer)


def read_file(path, limit=400):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def pid_alive(folder):
    """Whether the job's wrapper still runs (where /proc exists, its command line must name the folder's wrapper,
    so a reused pid does not count)."""
    text = read_file(os.path.join(folder, "cc.pid"), 40)
    try:
        pid = int((text or "").strip())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return os.path.join(folder, "cc-job.sh").encode() in handle.read()
    except OSError:
        return True


def send_log(watch):
    """Send what the log has beyond what was sent (all of it, in chunks)."""
    try:
        size = os.path.getsize(watch["log"])
    except OSError:
        return
    if size <= watch["offset"]:
        return
    with open(watch["log"], "rb") as handle:
        handle.seek(watch["offset"])
        while True:
            data = handle.read(CHUNK)
            if not data:
                return
            send({"ev": "log", "folder": watch["folder"], "offset": watch["offset"], "data": b64(data)})
            watch["offset"] += len(data)


def look(watch, now):
    """One look at a job: log growth, then its end. Returns True when the job needs no more looks."""
    folder = watch["folder"]
    send_log(watch)
    code = read_file(os.path.join(folder, "cc.exit_code"), 40)
    if code is not None and code.strip():
        send_log(watch)  # the wrapper writes the exit code last: the log is complete now
        reason = (read_file(os.path.join(folder, "cc.reason")) or "").replace("\n", " ").strip()
        try:
            number = int(code.strip())
        except ValueError:
            number = None
        send({"ev": "exit", "folder": folder, "code": number, "size": watch["offset"], "reason": reason,
              "cancelled": os.path.exists(os.path.join(folder, "cc.cancelled"))})
        return True
    if now >= watch["alive_at"]:
        watch["alive_at"] = now + ALIVE_EVERY
        if not os.path.isdir(folder) or not pid_alive(folder):
            watch["misses"] += 1
            if watch["misses"] >= 2:  # twice in a row: not a wrapper that is only starting
                send({"ev": "gone", "folder": folder})
                return True
        else:
            watch["misses"] = 0
    return False


def watch_loop():
    while True:
        now = time.monotonic()
        with _watched_lock:
            watches = list(_watched.values())
        for watch in watches:
            try:
                done = look(watch, now)
            except Exception:  # noqa: BLE001 - cc's status command tells instead
                send({"ev": "gone", "folder": watch["folder"]})
                done = True
            if done:
                with _watched_lock:
                    if _watched.get(watch["folder"]) is watch:
                        del _watched[watch["folder"]]
        time.sleep(TICK)


def main():
    threading.Thread(target=watch_loop, daemon=True).start()
    send({"ev": "hello", "pid": os.getpid(), "python": sys.version.split()[0]})
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line.decode())
        except ValueError:
            continue
        op = request.get("op")
        if op in ("sh", "run"):
            threading.Thread(target=run_request, args=(request,), daemon=True).start()
        elif op == "watch":
            watch = {"folder": request["folder"], "log": request["log"], "offset": int(request.get("offset") or 0),
                     "alive_at": time.monotonic() + ALIVE_EVERY, "misses": 0}
            with _watched_lock:
                _watched[watch["folder"]] = watch
            send({"id": request.get("id")})
        elif op == "unwatch":
            with _watched_lock:
                _watched.pop(request.get("folder"), None)
            send({"id": request.get("id")})
        else:
            send({"id": request.get("id"), "error": "unknown request %r" % op})


if __name__ == "__main__":
    main()
