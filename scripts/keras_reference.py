"""The reference Keras program, on the arrays this project exported (scripts/bench-epoch.ts).

    Embedding(10000, 128) -> {GRU|LSTM|SimpleRNN}(128, dropout=0.2, recurrent_dropout=R) -> Dense(1, sigmoid)
    Adam (Keras defaults), binary cross-entropy, accuracy, batch 32, shuffle=True,
    validation_data=(x_test, y_test)

--cell gru (default) is the reference model; lstm and simple_rnn swap the recurrent layer. R is
--recurrent-dropout (default 0.2, the reference). Everything else is Keras's defaults (GRU
reset_after=True; LSTM unit_forget_bias=True; implementation=2 unless recurrent dropout forces 1;
validation batch size = batch size).

Keras 2.12's GRU and LSTM take a fused path when they can (`_could_use_gpu_kernel`: tanh/sigmoid
activations, recurrent_dropout == 0, use_bias, not unroll, and for the GRU reset_after): the whole
sequence in one function, cuDNN on a GPU and the tf.function 'standard_gru' / 'standard_lstm' (a
while loop over the precomputed input projection) on a CPU. Otherwise, and always for SimpleRNN,
which has no fused function, keras.backend.rnn's while loop calls the cell once per time step.
The result records which path was chosen and why (`rnn`), and which of those functions the traced
training function actually contains (`rnn.traced_functions`).

Keras's own imdb.load_data cannot download here, so x/y come from .npy files written by
lib/util/npy.ts from lib/data/imdb.ts's loadImdb() (the same arrays, in the same order, that the TypeScript
training reads). TensorFlow's thread settings are left at their defaults (0 = let TensorFlow
choose); the values are recorded in the result.

Not bit-repeatable: with tf.keras.utils.set_random_seed (and even with op determinism) two runs
differ, apparently because the recurrent-dropout masks drawn inside fit's while loop do not follow the seed
(checked: the same program with recurrent_dropout=0 repeats exactly; initial weights always do).

Prints per-epoch training time, validation time, loss/accuracy/val_loss/val_accuracy, and
writes a JSON result (--out). Also times a 2048x2048 float32 matmul through this TensorFlow.

    .venv-keras/bin/python scripts/keras_reference.py --data data/export/<name> --epochs 1 --out result.json
    .venv-keras/bin/python scripts/keras_reference.py --data data/export/<name> --cell lstm --recurrent-dropout 0 --out r.json
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

# --cell -> the Keras layer class, and the function its fused path runs on a CPU (SimpleRNN has none).
CELLS = {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}
FUSED_FUNCTION = {"gru": "standard_gru", "lstm": "standard_lstm"}
# Kernel blocks per cell (gates + candidate), for the per-step matmuls of implementation=1.
BLOCKS = {"gru": 3, "lstm": 4, "simple_rnn": 1}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with x_train.npy, y_train.npy, x_test.npy, y_test.npy (and manifest.json)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--cell", choices=sorted(CELLS), default="gru", help="the recurrent layer (default gru, the reference)")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout of x_t inside the recurrent layer (default 0.2)")
    p.add_argument("--recurrent-dropout", type=float, default=0.2, help="dropout of h_{t-1} (default 0.2; 0 lets GRU/LSTM take the fused path)")
    p.add_argument("--out", help="write the result as JSON here")
    p.add_argument("--matmul-n", type=int, default=2048, help="size of the square matmul timed for GFLOP/s (0: skip)")
    p.add_argument("--matmul-reps", type=int, default=10)
    p.add_argument("--deterministic", action="store_true",
                   help="tf.config.experimental.enable_op_determinism() (off by default, as in the reference program)")
    p.add_argument("--verbose", type=int, default=2, help="model.fit verbosity (2: one line per epoch)")
    return p.parse_args()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def matmul_gflops(tf, n, reps):
    """Median GFLOP/s of an n x n float32 matmul, eager, after a warm-up (.numpy() waits for the result)."""
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    tf.linalg.matmul(a, b).numpy()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def build_model(tf, num_words, max_len, cell="gru", dropout=0.2, recurrent_dropout=0.2):
    """The reference model with the given recurrent layer, Keras defaults everywhere else."""
    layer = getattr(tf.keras.layers, CELLS[cell])
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(max_len,), dtype="int32"),
        tf.keras.layers.Embedding(num_words, 128),
        layer(128, dropout=dropout, recurrent_dropout=recurrent_dropout),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def fused_blockers(tf, layer, cell):
    """The conditions of Keras 2.12's `_could_use_gpu_kernel` that this layer fails (empty: it can fuse)."""
    from keras import activations

    blockers = []
    if layer.activation not in (activations.tanh, tf.tanh):
        blockers.append("activation is not tanh")
    if layer.recurrent_activation not in (activations.sigmoid, tf.sigmoid):
        blockers.append("recurrent_activation is not sigmoid")
    if layer.recurrent_dropout > 0:
        blockers.append(f"recurrent_dropout={layer.recurrent_dropout:g} > 0")
    if layer.unroll:
        blockers.append("unroll=True")
    if not layer.use_bias:
        blockers.append("use_bias=False")
    if cell == "gru" and not layer.reset_after:
        blockers.append("reset_after=False")
    return blockers


def rnn_implementation(tf, layer, cell):
    """Which code path Keras 2.12's recurrent layer takes on this machine, and why (decided when it is built)."""
    name = CELLS[cell]
    implementation = getattr(layer.cell, "implementation", None)
    info = {
        "cell": cell,
        "layer_class": type(layer).__name__,
        "dropout": float(layer.dropout),
        "recurrent_dropout": float(layer.recurrent_dropout),
        "implementation": implementation,
    }
    if cell == "gru":
        info["reset_after"] = bool(layer.reset_after)
    if cell == "lstm":
        info["unit_forget_bias"] = bool(layer.unit_forget_bias)
    generic = f"generic keras.backend.rnn: a tf.while_loop calling {name}Cell once per time step"
    if cell not in FUSED_FUNCTION:
        info.update(could_use_fused_kernel=False, path_kind="generic", function="keras.backend.rnn",
                    path=f"{generic}; SimpleRNN has no fused (cuDNN / standard_*) function in Keras 2.12")
        return info
    fused = bool(getattr(layer, "_could_use_gpu_kernel", False))
    info["could_use_fused_kernel"] = fused
    if fused:
        info.update(path_kind="fused", function=FUSED_FUNCTION[cell],
                    path=(f"fused {name} function (cuDNN on a GPU, the tf.function '{FUSED_FUNCTION[cell]}' while loop on a CPU): "
                          "recurrent_dropout=0 and the defaults meet _could_use_gpu_kernel; the x_t dropout mask is applied "
                          "once to the inputs before it"))
    else:
        blockers = fused_blockers(tf, layer, cell) or ["_could_use_gpu_kernel is False"]
        info.update(path_kind="generic", function="keras.backend.rnn",
                    path=f"{generic}; {', '.join(blockers)} rules out the fused (cuDNN / {FUSED_FUNCTION[cell]}) function")
    if implementation == 1 and layer.recurrent_dropout > 0:
        b = BLOCKS[cell]
        info["path"] += (f"; {name}Cell forces implementation=1 when recurrent_dropout > 0: per step, {b} [B,E]x[E,H] and "
                         f"{b} [B,H]x[H,H] matmuls with a separate dropout mask per block")
    return info


def traced_functions(model):
    """Names of the fused recurrent functions (standard_*/gpu_*) inside the traced training step, or None if unreadable."""
    try:
        names = set()
        for fn in model.train_function._list_all_concrete_functions():  # private API of tf.function (TF 2.12)
            for f in fn.graph.as_graph_def().library.function:
                m = re.match(r"^(?:__inference_)?((?:standard|gpu)_(?:gru|lstm)(?:_with_fallback)?)_\d+$", f.signature.name)
                if m:
                    names.add(m.group(1))
        return sorted(names)
    except Exception:  # noqa: BLE001 - a private API; the path decided at build time still stands
        return None


def make_timer(tf, label="keras"):
    """A callback that splits each epoch into training and validation seconds; prints one line per epoch, prefixed `label`."""

    class EpochTimer(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self._t = {"begin": time.perf_counter()}

        def on_test_begin(self, logs=None):
            if hasattr(self, "_t"):
                self._t["test_begin"] = time.perf_counter()

        def on_test_end(self, logs=None):
            if hasattr(self, "_t"):
                self._t["test_end"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            t = self._t
            end = time.perf_counter()
            test_begin = t.get("test_begin", end)
            record = {
                "epoch": epoch + 1,
                "train_seconds": test_begin - t["begin"],
                "val_seconds": t.get("test_end", end) - test_begin,
                "seconds": end - t["begin"],
            }
            record.update({k: float(v) for k, v in (logs or {}).items()})
            self.epochs.append(record)
            print(
                f"{label} epoch {record['epoch']}: train {record['train_seconds']:.1f} s, validation {record['val_seconds']:.1f} s, "
                f"loss {record.get('loss', float('nan')):.4f} acc {record.get('accuracy', float('nan')):.4f} "
                f"val_loss {record.get('val_loss', float('nan')):.4f} val_acc {record.get('val_accuracy', float('nan')):.4f}",
                flush=True,
            )

    return EpochTimer()


def main():
    args = parse_args()
    import keras
    import numpy as np
    import tensorflow as tf

    x_train = np.load(os.path.join(args.data, "x_train.npy"))
    y_train = np.load(os.path.join(args.data, "y_train.npy"))
    x_test = np.load(os.path.join(args.data, "x_test.npy"))
    y_test = np.load(os.path.join(args.data, "y_test.npy"))
    manifest_file = os.path.join(args.data, "manifest.json")
    manifest = json.load(open(manifest_file)) if os.path.exists(manifest_file) else {}
    num_words = int(manifest.get("numWords", int(max(x_train.max(), x_test.max())) + 1))
    max_len = x_train.shape[1]
    print(f"keras: x_train {x_train.shape} {x_train.dtype}, x_test {x_test.shape}, numWords {num_words}", flush=True)

    result = {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        # 0 means "TensorFlow's default" (the number of cores it sees); nothing here changes them.
        "threading": {
            "intra_op_parallelism_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_parallelism_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "TF_NUM_INTRAOP_THREADS": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "TF_NUM_INTEROP_THREADS": os.environ.get("TF_NUM_INTEROP_THREADS"),
        },
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 Linux builds since 2.9)"),
        "data": {"dir": os.path.abspath(args.data), "train": list(x_train.shape), "test": list(x_test.shape), "manifest": manifest},
        "config": {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed, "num_words": num_words, "max_len": max_len,
                   "cell": args.cell, "dropout": args.dropout, "recurrent_dropout": args.recurrent_dropout},
    }

    if args.matmul_n > 0:
        result["matmul"] = {"n": args.matmul_n, "reps": args.matmul_reps, "gflops": matmul_gflops(tf, args.matmul_n, args.matmul_reps)}
        print(f"keras: {args.matmul_n}x{args.matmul_n} float32 matmul through TF Python: {result['matmul']['gflops']:.1f} GFLOP/s", flush=True)

    tf.keras.utils.set_random_seed(args.seed)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    result["config"]["deterministic_ops"] = args.deterministic
    model = build_model(tf, num_words, max_len, args.cell, args.dropout, args.recurrent_dropout)
    label = f"keras {args.cell} R={args.recurrent_dropout:g}"
    result["params"] = int(model.count_params())
    result["rnn"] = rnn_implementation(tf, model.layers[1], args.cell)
    result["rnn"]["params"] = int(model.layers[1].count_params())
    print(f"{label}: {result['rnn']['layer_class']} path: {result['rnn']['path']}", flush=True)
    print(f"{label}: {result['params']:,} parameters ({result['rnn']['layer_class']} {result['rnn']['params']:,})", flush=True)
    timer = make_timer(tf, label)
    t0 = time.perf_counter()
    model.fit(
        x_train, y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        validation_data=(x_test, y_test),
        callbacks=[timer],
        verbose=args.verbose,
    )
    result["fit_seconds"] = time.perf_counter() - t0
    result["epochs"] = timer.epochs
    result["rnn"]["traced_functions"] = traced_functions(model)
    print(f"{label}: fused functions in the traced training step: {result['rnn']['traced_functions']}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"keras: wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
