"""Execute the lesson's notebooks, each in a fresh kernel.

``python -m cnn_lesson.run lesson``
    The lesson end to end: executed copies go to ``build/lesson/`` and their
    figures to ``build/lesson/fig/``; nothing tracked by git is changed. Prints
    a summary: notebook, seconds, longest cell, peak kernel memory and the
    key figure the notebook produced.

``python -m cnn_lesson.run outputs``
    Regenerates the stored outputs of ``notebooks/*.ipynb`` in place, the
    figures in ``fig/``, and the measured times in ``instructors/timings.md``.

Both first load CIFAR-10 once in this process, so a missing data set is
downloaded (with a progress bar) before any notebook starts, and every
notebook then loads it from the project's cache.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cnn_lesson import kernel
from cnn_lesson.paths import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
CELL_TIMEOUT_S = 900


def lesson_notebooks(folder: Path = NOTEBOOKS):
    """The numbered notebooks of the lesson, in order."""
    return sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb"))


def _peak_rss_mb(pid: int):
    """Peak resident memory of a process in MB (Linux), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _key_figure(nb) -> str:
    """The last line shown by the cells tagged ``key-figure``."""
    lines = []
    for cell in nb.cells:
        if "key-figure" in cell.get("metadata", {}).get("tags", []):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stdout":
                    lines += out["text"].strip().splitlines()
                elif out.get("output_type") == "execute_result":
                    lines += out["data"].get("text/plain", "").strip().splitlines()
    return lines[-1] if lines else ""


def execute(path: Path, out_path: Path) -> dict:
    """Run one notebook top to bottom in a fresh kernel; write it to out_path."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    cell_seconds = []
    start = time.perf_counter()
    peak = None
    # The kernel's own standard error holds TensorFlow's low-level start-up
    # lines and Jupyter's transport notices: nothing for the reader.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
        for index, cell in enumerate(nb.cells):
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            if cell.cell_type == "code":
                cell_seconds.append((time.perf_counter() - t0, index))
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid is None:
            process = getattr(getattr(client.km, "provisioner", None), "process", None)
            pid = getattr(process, "pid", None)
        if pid:
            peak = _peak_rss_mb(pid)
    seconds = time.perf_counter() - start
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_path)
    longest, longest_index = max(cell_seconds) if cell_seconds else (0.0, -1)
    return {
        "notebook": path.name,
        "seconds": round(seconds, 1),
        "longest_cell_seconds": round(longest, 1),
        "longest_cell_index": longest_index,
        "peak_kernel_mb": round(peak) if peak else None,
        "key_figure": _key_figure(nb),
    }


def cpu_model() -> str:
    """The processor's name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> str:
    """A one-line description of this computer."""
    return f"{os.cpu_count()} cores, {cpu_model()}, {platform.system()}"


def print_summary(results, total):
    print()
    print(
        f"{'notebook':<28} {'seconds':>8} {'longest cell':>13} {'peak MB':>8}  key figure"
    )
    for r in results:
        print(
            f"{r['notebook']:<28} {r['seconds']:>8.1f} "
            f"{r['longest_cell_seconds']:>13.1f} {r['peak_kernel_mb'] or '-':>8}  "
            f"{r['key_figure']}"
        )
    print(f"{'total':<28} {total:>8.1f}")
    print(f"machine: {machine()}")


def write_timings(results, total, path: Path):
    """Write the measured times as a Markdown table for instructors."""
    lines = [
        "# Measured execution times",
        "",
        "Written by `make outputs` (`python -m cnn_lesson.run outputs`) when it",
        "regenerated the stored outputs; do not edit by hand.",
        "",
        f"Machine: {machine()}; Python {platform.python_version()}.",
        "",
        "| notebook | seconds | longest cell (s) | peak kernel memory (MB) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['notebook']} | {r['seconds']:.0f} | "
            f"{r['longest_cell_seconds']:.0f} | {r['peak_kernel_mb'] or '-'} |"
        )
    lines += [f"| all notebooks | {total:.0f} | | |", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "total_seconds": round(total, 1),
                "notebooks": results,
            },
            indent=2,
        )
        + "\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["lesson", "outputs"])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to run (default: all of the lesson's)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "build" / "lesson",
        help="where the lesson run writes executed copies",
    )
    args = parser.parse_args(argv)

    paths = [p.resolve() for p in args.notebooks] or lesson_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2

    kernel.install()
    if args.mode == "lesson":
        os.environ["CNN_LESSON_FIG_DIR"] = str(args.out / "fig")
    # Kernels run in notebooks/, not here: paths given relative to this folder
    # must reach them as absolute paths.
    for name in ("CNN_LESSON_DATA_DIR", "CNN_LESSON_FIG_DIR", "CIFAR10_ARCHIVE"):
        if os.environ.get(name):
            os.environ[name] = str(Path(os.environ[name]).expanduser().resolve())

    from cnn_lesson.data import CIFAR10Error, load_cifar10

    try:
        load_cifar10()
    except CIFAR10Error as err:
        print(f"error: {err}", file=sys.stderr)
        return 1

    results = []
    start = time.perf_counter()
    for path in paths:
        out = path if args.mode == "outputs" else args.out / path.name
        print(f"running {path.name} ...", flush=True)
        results.append(execute(path, out))
    total = time.perf_counter() - start
    print_summary(results, total)
    if args.mode == "outputs" and not args.notebooks:
        write_timings(results, total, PROJECT_ROOT / "instructors" / "timings.md")
    else:
        (args.out).mkdir(parents=True, exist_ok=True)
        (args.out / "timings.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
