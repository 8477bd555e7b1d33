"""Disturb a run on purpose: keep every core busy for ON seconds, leave them idle for OFF seconds, repeat.

Shows what the pages say about a machine that is not the run's own (the disturbed-machine rule in the
Methodology): rounds measured while the cores were loaded are left out of every comparison, and verdicts left
without enough calm rounds are called inconclusive. Start it beside a run and stop it afterwards (kill, or
Ctrl-C in the foreground):

    python scripts/load_cores.py --on 40 --off 80 &
    reportgen run --profile quick --frameworks torch onnxruntime openvino --results-dir /tmp/loaded/results \\
        --site-dir /tmp/loaded/site
    kill %1
"""

import argparse
import multiprocessing
import os
import signal
import sys
import time


def spin(until: float) -> None:
    """Busy-wait on one core until the wall clock reaches ``until`` (the parent stops it on Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while time.time() < until:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--on", type=float, default=40.0, help="seconds of load per cycle (default: 40)")
    parser.add_argument("--off", type=float, default=80.0, help="idle seconds per cycle (default: 80)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="busy processes (default: every core)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # kill: stop the busy processes too
    workers: list[multiprocessing.Process] = []
    try:
        while True:
            until = time.time() + args.on
            workers = [multiprocessing.Process(target=spin, args=(until,)) for _ in range(args.cores)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            print(f"{time.strftime('%H:%M:%S')} loaded {args.cores} core(s) for {args.on:g} s; idle for "
                  f"{args.off:g} s", flush=True)
            time.sleep(args.off)
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers:
            worker.terminate()

if __name__ == "__main__":
    main()
