"""The Yun jobs benchmark's workload on Ray: 2,000 CPU-bound tasks of about 5 ms each and a
batch of no-op tasks, on a local Ray with one worker per core. Prints JSON."""
import json
import os
import time

import ray

TASKS = 2000
TASK_MS = 5.0
NOOPS = 2048


def spin(n):
    # A pure-Python integer loop: the kernel's speed does not matter, only the overhead.
    x = 0
    for i in range(n):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


def calibrate(ms):
    n = 100_000
    t = min(timed(spin, n) for _ in range(3))
    return max(1, int(n * (ms / 1e3) / t))


def timed(f, *a):
    s = time.perf_counter()
    f(*a)
    return time.perf_counter() - s


def main():
    cores = os.cpu_count() or 1
    ray.init(num_cpus=cores, include_dashboard=False, logging_level="ERROR")
    n = calibrate(TASK_MS)
    single = sorted(timed(spin, n) for _ in range(21))[10]
    remote_spin = ray.remote(spin)
    ray.get([remote_spin.remote(1) for _ in range(cores * 4)])  # warm the workers

    @ray.remote
    def noop():
        return 0

    s = time.perf_counter()
    ray.get([noop.remote() for _ in range(NOOPS)])
    noop_s = time.perf_counter() - s

    s = time.perf_counter()
    ray.get([remote_spin.remote(n) for _ in range(TASKS)])
    wall = time.perf_counter() - s
    ideal = single * TASKS / cores
    print(json.dumps({
        "cpu_tasks": TASKS,
        "cpu_task_ms": single * 1e3,
        "cpu_wall_s": wall,
        "cpu_ideal_s": ideal,
        "cpu_ratio": wall / ideal,
        "noop_tasks_per_s": NOOPS / noop_s,
        "ray_version": ray.__version__,
    }))


if __name__ == "__main__":
    main()
