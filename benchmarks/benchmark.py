"""Time the lesson's three trained models: the original code against ours.

Each of the lesson's trained models (conv+pool, depth, depth + dropout) is
trained two ways on the same data and machine, in one run:

- ``baseline``: the original lesson code as written (inputs ``/ 255.0`` as
  float64, ``model.fit`` with its default batch size, TensorFlow defaults);
- ``ours``: the lesson's code as the project ships it (float32 inputs and the
  keyword arguments in ``OURS_FIT`` and ``OURS_COMPILE`` below).

Every training run happens in a fresh Python process, so that its peak memory
can be measured and no run inherits another's warm caches. The two variants are
interleaved (baseline then ours for one model and seed, ours then baseline for
the next), because time per epoch on a shared machine drifts by tens of percent
within an hour; speeds are only compared within one run, as ratios.

Usage, from the repository root::

    .venv/bin/python benchmarks/benchmark.py                  # full run
    .venv/bin/python benchmarks/benchmark.py --seeds 1 --models dropout \\
        --epochs-scale 0.1 --out /tmp/bench                  # smoke run

The figures are printed and written to ``results.json`` and ``results.md`` in
the ``--out`` folder (default: this folder). The data comes from
:func:`cnn_lesson.data.load_cifar10`, so the usual ``CIFAR10_ARCHIVE``,
``CIFAR10_ACCEPT_SHA256`` and ``CNN_LESSON_DATA_DIR`` settings apply.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# What "ours" passes to model.fit and model.compile on top of the lesson's code.
# Keep these in step with the notebooks.
OURS_FIT = {"batch_size": 32, "validation_batch_size": 1000, "verbose": 2}
OURS_COMPILE = {"steps_per_execution": 64}

N_TRAIN = 5000  # the lesson trains on the first 5,000 training images
EVAL_BATCH_SIZE = 1000  # for the final model.evaluate on the test set
MATMUL_SIZE = 4096
MATMUL_REPEATS = 3
RESULT_TAG = "BENCHMARK-RESULT "

MODELS = {
    # name: (label, epochs, expected parameter count)
    "conv_pool": ("conv+pool", 10, 47_370),
    "depth": ("depth", 20, 36_138),
    "dropout": ("dropout", 20, 36_138),
}
VARIANTS = ("baseline", "ours")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent


# --------------------------------------------------------------------------
# What runs in a child process: one training run, or the matmul peak.
# --------------------------------------------------------------------------


def build_model(name, keras):
    """The lesson's model ``name``, built with the functional API."""
    layers = keras.layers
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Conv2D(32, (3, 3), activation="relu")(x)
    x = layers.MaxPooling2D((2, 2))(x)
    if name in ("depth", "dropout"):
        x = layers.Conv2D(32, (3, 3), activation="relu")(x)
    if name == "dropout":
        x = layers.Dropout(0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def forward_macs(model, keras):
    """Multiply-accumulates of one forward pass of one image (conv and dense)."""
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kh, kw, channels, _ = layer.kernel.shape
            macs += height * width * filters * kh * kw * channels
        elif isinstance(layer, keras.layers.Dense):
            inputs, units = layer.kernel.shape
            macs += inputs * units
    return int(macs)


def prepare_data(variant):
    """Load CIFAR-10 and scale it the way ``variant`` does."""
    from cnn_lesson.data import load_cifar10

    (train_images, train_labels), (test_images, test_labels) = load_cifar10(
        verbose=False
    )
    if variant == "baseline":
        # The original lesson: scale everything as float64, then keep n images.
        train_images, test_images = train_images / 255.0, test_images / 255.0
        train_images = train_images[:N_TRAIN]
        train_labels = train_labels[:N_TRAIN]
    else:
        train_images = train_images[:N_TRAIN].astype("float32") / 255
        train_labels = train_labels[:N_TRAIN]
        test_images = test_images.astype("float32") / 255
    return (train_images, train_labels), (test_images, test_labels)


def run_one(model_name, variant, seed, epochs):
    """Train one model one way; return the figures as a dict."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import keras
    import tensorflow as tf

    import_s = time.perf_counter() - start_wall
    (train_images, train_labels), (test_images, test_labels) = prepare_data(variant)
    data_s = time.perf_counter() - start_wall - import_s

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._wall, self._cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self._wall)
            self.cpu.append(time.process_time() - self._cpu)

    fit_kwargs = OURS_FIT if variant == "ours" else {}
    compile_kwargs = OURS_COMPILE if variant == "ours" else {}

    keras.utils.set_random_seed(seed)
    model = build_model(model_name, keras)
    params = model.count_params()
    expected = MODELS[model_name][2]
    if params != expected:
        raise RuntimeError(f"{model_name} has {params} parameters, not {expected}")
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **compile_kwargs,
    )
    timer = EpochTimer()
    fit_wall, fit_cpu = time.perf_counter(), time.process_time()
    history = model.fit(
        train_images,
        train_labels,
        epochs=epochs,
        validation_data=(test_images, test_labels),
        callbacks=[timer],
        **fit_kwargs,
    )
    fit_s = time.perf_counter() - fit_wall
    fit_cpu_s = time.process_time() - fit_cpu
    _, test_acc = model.evaluate(
        test_images, test_labels, batch_size=EVAL_BATCH_SIZE, verbose=0
    )
    hist = history.history
    return {
        "model": model_name,
        "variant": variant,
        "seed": seed,
        "epochs": epochs,
        "params": params,
        "forward_macs_per_image": forward_macs(model, keras),
        "train_dtype": str(train_images.dtype),
        "epoch_wall_s": timer.wall,
        "epoch_cpu_s": timer.cpu,
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "import_s": import_s,
        "data_s": data_s,
        "run_s": time.perf_counter() - start_wall,
        "run_cpu_s": time.process_time() - start_cpu,
        "final_train_acc": float(hist["accuracy"][-1]),
        "final_val_acc": float(hist["val_accuracy"][-1]),
        "gap": float(hist["accuracy"][-1] - hist["val_accuracy"][-1]),
        "test_acc": float(test_acc),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def measure_matmul_peak():
    """Best float32 GFLOP/s of a large matrix product, in numpy and in TF."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np
    import tensorflow as tf

    n = MATMUL_SIZE
    flops = 2 * n**3
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)

    def best_gflops(product):
        product()  # warm-up: thread pools, first-call costs
        times = []
        for _ in range(MATMUL_REPEATS):
            t = time.perf_counter()
            product()
            times.append(time.perf_counter() - t)
        return flops / min(times) / 1e9

    numpy_gflops = best_gflops(lambda: a @ b)
    ta, tb = tf.constant(a), tf.constant(b)
    tf_gflops = best_gflops(lambda: tf.matmul(ta, tb).numpy())
    return {
        "size": n,
        "repeats": MATMUL_REPEATS,
        "numpy_gflops": numpy_gflops,
        "tensorflow_gflops": tf_gflops,
        "peak_gflops": max(numpy_gflops, tf_gflops),
    }


# --------------------------------------------------------------------------
# What runs in the parent: the schedule, the child processes, the summary.
# --------------------------------------------------------------------------


def in_child(*args):
    """Run this script with ``args`` in a fresh process; return its result."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise RuntimeError(f"child {args} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_TAG) :])


def machine_info():
    from cnn_lesson.run import cpu_model

    cpu = cpu_model()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def spread(values):
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values)}


def summarise(runs, peak_gflops):
    """Per model and variant figures, and baseline/ours ratios per model."""
    summary = {}
    for model in dict.fromkeys(r["model"] for r in runs):
        summary[model] = {}
        for variant in VARIANTS:
            rs = [r for r in runs if r["model"] == model and r["variant"] == variant]
            if not rs:
                continue
            later_wall = [s for r in rs for s in r["epoch_wall_s"][1:]]
            later_cpu = [s for r in rs for s in r["epoch_cpu_s"][1:]]
            macs = rs[0]["forward_macs_per_image"]
            # training ~3x forward on the training images, validation 1x forward
            flops = 2 * macs * (3 * N_TRAIN + 10_000)
            later = statistics.median(later_wall) if later_wall else None
            summary[model][variant] = {
                "epochs": rs[0]["epochs"],
                "seeds": [r["seed"] for r in rs],
                "first_epoch_wall_s": statistics.median(
                    r["epoch_wall_s"][0] for r in rs
                ),
                "first_epoch_cpu_s": statistics.median(r["epoch_cpu_s"][0] for r in rs),
                "later_epoch_wall_s": later,
                "later_epoch_cpu_s": (
                    statistics.median(later_cpu) if later_cpu else None
                ),
                "total_s": statistics.median(r["fit_s"] for r in rs),
                "run_s": statistics.median(r["run_s"] for r in rs),
                "final_val_acc": spread([r["final_val_acc"] for r in rs]),
                "test_acc": spread([r["test_acc"] for r in rs]),
                "gap": spread([r["gap"] for r in rs]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                "flops_per_epoch": flops,
                "achieved_gflops": flops / later / 1e9 if later else None,
                "fraction_of_peak": (
                    flops / later / 1e9 / peak_gflops if later else None
                ),
            }
        pair = summary[model]
        if "baseline" in pair and "ours" in pair:
            base, ours = pair["baseline"], pair["ours"]
            paired = [
                b["fit_s"] / o["fit_s"]
                for b in runs
                for o in runs
                if b["model"] == o["model"] == model
                and b["seed"] == o["seed"]
                and (b["variant"], o["variant"]) == VARIANTS
            ]
            ratio_later = None
            if base["later_epoch_wall_s"] and ours["later_epoch_wall_s"]:
                ratio_later = base["later_epoch_wall_s"] / ours["later_epoch_wall_s"]
            ratio_cpu = None
            if base["later_epoch_cpu_s"] and ours["later_epoch_cpu_s"]:
                ratio_cpu = base["later_epoch_cpu_s"] / ours["later_epoch_cpu_s"]
            pair["ratio_baseline_over_ours"] = {
                "later_epoch_wall": ratio_later,
                "later_epoch_cpu": ratio_cpu,
                "total": base["total_s"] / ours["total_s"],
                "total_per_seed": spread(paired),
            }
    return summary


def fmt_acc(s):
    return f"{s['mean']:.3f} ({s['min']:.3f} to {s['max']:.3f})"


def fmt_s(value):
    return "-" if value is None else f"{value:.2f}"


def report_rows(summary):
    """Rows of the main table: one per model and variant."""
    header = [
        "model",
        "variant",
        "epochs",
        "first epoch s (wall / cpu)",
        "later epochs median s (wall / cpu)",
        "total s",
        "final val acc",
        "test acc",
        "train - val gap",
        "peak MB",
    ]
    rows = []
    for model, variants in summary.items():
        for variant in VARIANTS:
            if variant not in variants:
                continue
            v = variants[variant]
            rows.append(
                [
                    MODELS[model][0],
                    variant,
                    str(v["epochs"]),
                    f"{fmt_s(v['first_epoch_wall_s'])} / "
                    + fmt_s(v["first_epoch_cpu_s"]),
                    f"{fmt_s(v['later_epoch_wall_s'])} / "
                    + fmt_s(v["later_epoch_cpu_s"]),
                    fmt_s(v["total_s"]),
                    fmt_acc(v["final_val_acc"]),
                    fmt_acc(v["test_acc"]),
                    fmt_acc(v["gap"]),
                    f"{v['peak_rss_mb']:.0f}",
                ]
            )
    return header, rows


def ratio_lines(summary):
    lines = []
    for model, variants in summary.items():
        ratio = variants.get("ratio_baseline_over_ours")
        if ratio:
            later, cpu = ratio["later_epoch_wall"], ratio["later_epoch_cpu"]
            per_seed = ratio["total_per_seed"]
            lines.append(
                f"{MODELS[model][0]}: speed ratio baseline/ours, median later "
                f"epoch {'-' if later is None else f'{later:.2f}'}x wall, "
                f"{'-' if cpu is None else f'{cpu:.2f}'}x CPU, total "
                f"{ratio['total']:.2f}x (per seed {per_seed['min']:.2f} to "
                f"{per_seed['max']:.2f}x)"
            )
    return lines


def flop_lines(summary, peak):
    before, after = peak["before"], peak["after"]
    lines = [
        (
            f"measured matmul peak: {peak['peak_gflops']:.1f} GFLOP/s "
            f"(float32 {before['size']}x{before['size']}, best of "
            f"{before['repeats']}, before the runs: numpy "
            f"{before['numpy_gflops']:.1f}, TensorFlow "
            f"{before['tensorflow_gflops']:.1f}; after: numpy "
            f"{after['numpy_gflops']:.1f}, TensorFlow "
            f"{after['tensorflow_gflops']:.1f})"
        )
    ]
    for model, variants in summary.items():
        for variant in VARIANTS:
            v = variants.get(variant)
            if v and v["fraction_of_peak"] is not None:
                lines.append(
                    f"{MODELS[model][0]} {variant}: {v['flops_per_epoch'] / 1e9:.1f} "
                    f"GFLOP per epoch, {v['achieved_gflops']:.2f} GFLOP/s at the "
                    f"median later epoch = {v['fraction_of_peak']:.1%} of the "
                    "measured matmul peak"
                )
    return lines


def markdown(results):
    m = results["machine"]
    header, rows = report_rows(results["summary"])
    machine = (
        f"Machine: {m['nproc']} cores available ({m['cpu_count']} in total), "
        f"{m['cpu_model']}; Python {m['python']}, TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}; {m['date']}. Load average before / after: "
        f"{results['loadavg_before']} / {results['loadavg_after']}."
    )
    setup = (
        f"Seeds {', '.join(map(str, results['seeds']))}; epochs scaled by "
        f"{results['epochs_scale']}. `ours` = float32 inputs, fit "
        f"`{results['ours_fit']}`, compile `{results['ours_compile']}`; "
        "`baseline` = inputs `/ 255.0` (float64), fit and compile defaults."
    )
    legend = (
        "First epoch: median over seeds; later epochs: median of all epochs "
        "after the first, over all seeds; total: median over seeds of the "
        "`model.fit` wall time; accuracies, gap: mean (min to max) over seeds; peak "
        "memory: highest peak RSS of the training process."
    )
    flops = (
        "FLOPs per epoch are counted from the layer shapes: 2 x the conv and "
        "dense multiply-accumulates of one forward pass, x3 for training on "
        f"{N_TRAIN:,} images, plus one forward pass on 10,000 validation images."
    )
    out = ["# Benchmark: original lesson code against ours", "", machine, ""]
    out += [setup, legend, ""]
    out += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out += [""] + [f"- {line}" for line in ratio_lines(results["summary"])]
    out += [""] + [
        f"- {line}" for line in flop_lines(results["summary"], results["matmul"])
    ]
    out += ["", flops, ""]
    return "\n".join(out)


def print_table(header, rows):
    widths = [max(len(c) for c in col) for col in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


def schedule(models, seeds):
    """(model, variant, seed) in interleaved order, alternating A/B and B/A."""
    runs = []
    for r, seed in enumerate(seeds):
        for m, model in enumerate(models):
            order = VARIANTS if (r + m) % 2 == 0 else VARIANTS[::-1]
            runs += [(model, variant, seed) for variant in order]
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--models", nargs="+", choices=list(MODELS), default=list(MODELS)
    )
    parser.add_argument(
        "--epochs-scale",
        type=float,
        default=1.0,
        help="multiply each model's epochs by this (at least 1 epoch), for a "
        "quick smoke run",
    )
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--run-one", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--matmul-peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.run_one:
        model, variant, seed, epochs = args.run_one
        result = run_one(model, variant, int(seed), int(epochs))
        print(RESULT_TAG + json.dumps(result), flush=True)
        return
    if args.matmul_peak:
        print(RESULT_TAG + json.dumps(measure_matmul_peak()), flush=True)
        return

    from cnn_lesson.data import load_cifar10

    load_cifar10()  # build the cache now, so that no timed run pays for it
    machine = machine_info()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    print(f"machine: {machine['nproc']} cores, {machine['cpu_model']}")
    print(f"load average: {loadavg_before}")
    print("measuring the matmul peak ...", flush=True)
    matmul_before = in_child("--matmul-peak")
    print(f"measured matmul peak: {matmul_before['peak_gflops']:.1f} GFLOP/s")

    plan = schedule(args.models, args.seeds)
    runs = []
    started = time.perf_counter()
    for i, (model, variant, seed) in enumerate(plan, 1):
        epochs = max(1, round(MODELS[model][1] * args.epochs_scale))
        load = round(os.getloadavg()[0], 2)
        print(
            f"[{i}/{len(plan)}] {MODELS[model][0]} {variant} seed {seed}, "
            f"{epochs} epochs (load {load}) ...",
            end=" ",
            flush=True,
        )
        result = in_child("--run-one", model, variant, seed, epochs)
        result["order"] = i
        result["loadavg_1min_before"] = load
        runs.append(result)
        print(
            f"{result['fit_s']:.1f} s, test accuracy {result['test_acc']:.3f}, "
            f"peak {result['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    benchmark_s = time.perf_counter() - started
    loadavg_after = [round(x, 2) for x in os.getloadavg()]
    # Measured again after the runs: the machine's speed drifts, and the best of
    # the two is the fairer estimate of what it can do.
    print("measuring the matmul peak again ...", flush=True)
    matmul_after = in_child("--matmul-peak")
    matmul = {
        "before": matmul_before,
        "after": matmul_after,
        "peak_gflops": max(matmul_before["peak_gflops"], matmul_after["peak_gflops"]),
    }
    machine["tensorflow"] = runs[0]["tensorflow"]
    machine["keras"] = runs[0]["keras"]

    summary = summarise(runs, matmul["peak_gflops"])
    results = {
        "machine": machine,
        "seeds": args.seeds,
        "models": args.models,
        "epochs_scale": args.epochs_scale,
        "n_train": N_TRAIN,
        "ours_fit": OURS_FIT,
        "ours_compile": OURS_COMPILE,
        "loadavg_before": loadavg_before,
        "loadavg_after": loadavg_after,
        "benchmark_s": benchmark_s,
        "matmul": matmul,
        "summary": summary,
        "runs": runs,
    }

    print()
    print_table(*report_rows(summary))
    print()
    for line in ratio_lines(summary) + flop_lines(summary, matmul):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    print(f"the training runs took {results['benchmark_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
