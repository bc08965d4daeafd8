"""`make run` and `make demo-live`: the dashboard, the watcher beside it and (for a demo) the
simulator, started together and stopped together on Ctrl-C.

The dashboard never opens the warehouse, so it starts at once on the last published snapshot,
whatever a pipeline command is doing meanwhile; the build (demo files, load, score, publish)
runs beside it, waiting for the warehouse if another command holds it, and the watcher takes
over when the build is done. With no snapshot yet, the build runs first, so that the first page
has something to show."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipelines.config import load_settings
from pipelines.publish import current_snapshot

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = [sys.executable, "-m", "pipelines"]


class Group:
    """Child processes that stop together."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self, args: list[str]) -> subprocess.Popen | None:
        with self._lock:
            if self.stopping.is_set():
                return None
            proc = subprocess.Popen(args, cwd=ROOT)
            self.children.append(proc)
            return proc

    def run(self, args: list[str]) -> int:
        proc = self.start(args)
        return 1 if proc is None else proc.wait()

    def stop(self) -> None:
        with self._lock:
            self.stopping.set()
            children = list(self.children)
        for proc in children:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PORT", "8501"))
    parser.add_argument("--simulate", type=float, metavar="RATE",
                        help="also drip demo activity into the inbox, RATE files a minute")
    parser.add_argument("--no-watch", action="store_true", help="serve only, no watcher")
    args = parser.parse_args(argv)
    settings = load_settings()
    group = Group()

    def pipeline(build: bool) -> None:
        if build and group.run([*PIPELINES, "build"]) != 0:
            print("the build failed (see above): the dashboard shows the last published "
                  "snapshot", file=sys.stderr)
        if args.simulate:
            group.start([*PIPELINES, "simulate", "--rate", str(args.simulate)])
        if not args.no_watch:
            group.run([*PIPELINES, "watch"])

    try:
        built = False
        if current_snapshot(settings.snapshot_dir) is None:
            # nothing to show yet: build before serving
            if group.run([*PIPELINES, "build"]) != 0:
                return 2
            built = True
        worker = threading.Thread(target=pipeline, args=(not built,), name="pipeline",
                                  daemon=True)
        worker.start()
        print(f"dashboard: http://{args.host}:{args.port}   wall screen: "
              f"http://{args.host}:{args.port}/?wall=bank   inbox: {settings.inbox_dir}",
              flush=True)
        server = group.start([sys.executable, "-m", "streamlit", "run", "dashboard/serve.py",
                              "--server.address", args.host, "--server.port", str(args.port),
                              "--server.headless", "true",
                              "--browser.gatherUsageStats", "false"])
        return server.wait() if server else 130
    except KeyboardInterrupt:
        return 130
    finally:
        group.stop()


if __name__ == "__main__":
    sys.exit(main())
