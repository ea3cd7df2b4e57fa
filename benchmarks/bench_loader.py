"""How long load_cifar10 takes: the first import, then loads from the cache.

    python benchmarks/bench_loader.py [ARCHIVE] [--repeats 5]

ARCHIVE defaults to $CIFAR10_ARCHIVE, then data/cifar-10-python.tar.gz.
An archive that is not the official one is accepted through
$CIFAR10_ACCEPT_SHA256 or --accept-sha256; without either, the benchmark
trusts the archive it was given and says so. Everything is written into a
temporary data folder, removed at the end; the project's data/ is untouched.

Printed: the first load (checksum, import and cache write, wall and CPU
time, with the parts timed separately), then the median of several loads
from the cache, in this process and in fresh processes (as a notebook's new
kernel would do it).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cnn_lesson import data
from cnn_lesson.data import load_cifar10

DEFAULT_ARCHIVE = str(
    Path(__file__).resolve().parent.parent / "data" / "cifar-10-python.tar.gz"
)

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from cnn_lesson.data import load_cifar10
t1, c1 = time.perf_counter(), time.process_time()
load_cifar10(data_dir=sys.argv[1], accept_sha256=sys.argv[2], download=False,
             verbose=False)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "cpu_s": c2 - c1}))
"""


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", type=Path)
    parser.add_argument("--accept-sha256", default=os.environ.get(data.ENV_ACCEPT))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    archive = args.archive or Path(os.environ.get(data.ENV_ARCHIVE) or DEFAULT_ARCHIVE)
    if not archive.is_file():
        sys.exit(f"No archive at {archive}; name one as the first argument.")
    size_mb = archive.stat().st_size / 1e6

    digest, hash_s, _ = timed(data.sha256_of, archive)
    accept = args.accept_sha256
    if not accept and digest != data.OFFICIAL_SHA256:
        print(f"note: trusting {archive} (SHA-256 {digest}) for this benchmark")
        accept = digest
    folder = Path(tempfile.mkdtemp(prefix="bench-loader-"))
    try:
        print(f"archive: {archive} ({size_mb:.0f} MB); data folder: {folder}")
        result, first_s, first_cpu = timed(
            load_cifar10, archive, accept_sha256=accept, data_dir=folder, verbose=False
        )
        (train_images, _), (test_images, _) = result
        cache = folder / "cache" / data.CACHE_NAME
        print(
            f"first load (checksum, import, cache write): {first_s:.2f} s wall, "
            f"{first_cpu:.2f} s CPU; {len(train_images)} + {len(test_images)} images; "
            f"cache {cache.stat().st_size / 1e6:.0f} MB"
        )
        arrays, read_s, _ = timed(data._read_archive, archive, False)
        _, write_s, _ = timed(
            data._write_cache,
            folder / "cache" / "part-timing.npz",
            arrays,
            {"sha256": ""},
        )
        (folder / "cache" / "part-timing.npz").unlink()
        print(
            f"  of which, timed alone: checksum {hash_s:.2f} s, reading the archive "
            f"{read_s:.2f} s, writing the cache {write_s:.2f} s"
        )
        del result, arrays, train_images, test_images

        walls, cpus = [], []
        for _ in range(args.repeats):
            _, wall, cpu = timed(
                load_cifar10,
                archive,
                accept_sha256=accept,
                data_dir=folder,
                verbose=False,
            )
            walls.append(wall)
            cpus.append(cpu)
        print(
            f"cached load, same process, median of {args.repeats}: "
            f"{statistics.median(walls):.3f} s wall, {statistics.median(cpus):.3f} s CPU "
            f"(all: {', '.join(f'{w:.3f}' for w in walls)})"
        )

        runs = []
        for _ in range(args.repeats):
            child = subprocess.run(
                [sys.executable, "-c", _CHILD, str(folder), accept],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        loads = [r["load_s"] for r in runs]
        print(
            f"cached load, fresh process, median of {args.repeats}: "
            f"{statistics.median(loads):.3f} s wall, "
            f"{statistics.median(r['cpu_s'] for r in runs):.3f} s CPU "
            f"(all: {', '.join(f'{w:.3f}' for w in loads)}); importing "
            f"cnn_lesson.data first took {statistics.median(r['import_s'] for r in runs):.3f} s"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
