"""The reference Keras program, on the arrays this project exported (scripts/bench-epoch.ts).

    Embedding(10000, 128) -> GRU(128, dropout=0.2, recurrent_dropout=0.2) -> Dense(1, sigmoid)
    Adam (Keras defaults), binary cross-entropy, accuracy, batch 32, shuffle=True,
    validation_data=(x_test, y_test)

Keras's own imdb.load_data cannot download here, so x/y come from .npy files written by
lib/npy.ts from lib/imdb.ts's loadImdb() (the same arrays, in the same order, that the TypeScript
training reads). Everything else is Keras's defaults (GRU reset_after=True, implementation=2,
validation batch size = batch size). TensorFlow's thread settings are left at their defaults
(0 = let TensorFlow choose); the values are recorded in the result.

Not bit-repeatable: with tf.keras.utils.set_random_seed (and even with op determinism) two runs
differ, apparently because the recurrent-dropout masks drawn inside fit's while loop do not follow the seed
(checked: the same program with recurrent_dropout=0 repeats exactly; initial weights always do).

Prints per-epoch training time, validation time, loss/accuracy/val_loss/val_accuracy, and
writes a JSON result (--out). Also times a 2048x2048 float32 matmul through this TensorFlow.

    .venv-keras/bin/python scripts/keras_reference.py --data data/export/<name> --epochs 1 --out result.json
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with x_train.npy, y_train.npy, x_test.npy, y_test.npy (and manifest.json)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
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


def build_model(tf, num_words, max_len):
    """The reference model, Keras defaults everywhere else."""
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(max_len,), dtype="int32"),
        tf.keras.layers.Embedding(num_words, 128),
        tf.keras.layers.GRU(128, dropout=0.2, recurrent_dropout=0.2),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def gru_implementation(gru):
    """Which code path Keras 2.12's GRU takes on this machine, and why."""
    fused = bool(getattr(gru, "_could_use_gpu_kernel", False))
    if fused:
        path = "fused GRU function (cuDNN on a GPU, the tf.function 'standard_gru' while-loop on a CPU)"
    else:
        path = ("generic keras.backend.rnn: a tf.while_loop calling GRUCell once per time step; "
                "recurrent_dropout > 0 rules out the fused (cuDNN / standard_gru) function")
    if gru.cell.implementation == 1 and gru.recurrent_dropout > 0:
        path += ("; GRUCell forces implementation=1 when recurrent_dropout > 0: per step, three [B,E]x[E,H] and "
                 "three [B,H]x[H,H] matmuls with a separate dropout mask per gate")
    return {
        "could_use_fused_kernel": fused,
        "path": path,
        "implementation": gru.cell.implementation,
        "reset_after": gru.reset_after,
    }


def make_timer(tf):
    """A callback that splits each epoch into training and validation seconds."""

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
                f"keras epoch {record['epoch']}: train {record['train_seconds']:.1f} s, validation {record['val_seconds']:.1f} s, "
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
        "config": {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed, "num_words": num_words, "max_len": max_len},
    }

    if args.matmul_n > 0:
        result["matmul"] = {"n": args.matmul_n, "reps": args.matmul_reps, "gflops": matmul_gflops(tf, args.matmul_n, args.matmul_reps)}
        print(f"keras: {args.matmul_n}x{args.matmul_n} float32 matmul through TF Python: {result['matmul']['gflops']:.1f} GFLOP/s", flush=True)

    tf.keras.utils.set_random_seed(args.seed)
    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    result["config"]["deterministic_ops"] = args.deterministic
    model = build_model(tf, num_words, max_len)
    result["gru"] = gru_implementation(model.layers[1])
    print(f"keras: GRU path: {result['gru']['path']}", flush=True)
    timer = make_timer(tf)
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
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print(f"keras: wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
