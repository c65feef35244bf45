"""Keras's side of the .keras / .h5 round trips (test/keras-*.test.ts, notebook 07).

Runs under Keras 2.12 (.venv-keras: TensorFlow's Keras) or Keras 3 (.venv-keras3, JAX backend);
create either with `bash scripts/keras-env.sh keras2|keras3`.

    train        the blog's program on the course's exported arrays (scripts/export-imdb.ts):
                 Embedding(num_words, 128) -> GRU(128, dropout=0.2, recurrent_dropout=0.2) -> Dense(1, sigmoid),
                 Adam, binary cross-entropy, batch 32; saves the model and its predictions on x_test
    predict      load_model(MODEL) and write its P(positive) for the rows of an int32 .npy
    unsupported  save small untrained models of shapes the course does not import

Every command prints one JSON line on stdout at the end (what it did, the Keras version). `train` prints its
progress before it: lines "@progress {...}" (a batch line every --progress-seconds, a line per epoch; the events
of lib/training/train-progress.ts, which lib/keras/python.ts shows as the course's own training shows them).

    python scripts/keras_models.py train --data data/export/<name> --out m.keras --epochs 1 --train-size 500
    python scripts/keras_models.py predict m.keras --x x.npy --out p.npy
    python scripts/keras_models.py unsupported --model lstm=lstm.keras --model relu=relu.h5
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 only; Keras 2.12 ignores it
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

try:
    import keras  # Keras 3, or Keras 2.12's standalone package beside TensorFlow 2.12
except ImportError:  # pragma: no cover
    from tensorflow import keras

KERAS_3 = keras.__version__.startswith("3.")


def save(model, path):
    """model.save in the format the name says; Keras 2.12 needs save_format="keras_v3" for the .keras zip."""
    if path.endswith(".keras") and not KERAS_3:
        model.save(path, save_format="keras_v3")
    else:
        model.save(path)


def blog_model(num_words, max_len, units, dropout, recurrent_dropout, reset_after, embedding_dim):
    """The blog's program, with the sizes as parameters."""
    model = keras.Sequential([
        keras.Input(shape=(max_len,), dtype="int32"),
        keras.layers.Embedding(num_words, embedding_dim),
        keras.layers.GRU(units, dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


PROGRESS_PREFIX = "@progress "  # lib/keras/python.ts reads these lines (a ProgressEvent of lib/training/train-progress.ts)


def progress(event):
    """One progress line on stdout, flushed: '@progress ' and the event as JSON."""
    print(PROGRESS_PREFIX + json.dumps(event), flush=True)


class ProgressLines(keras.callbacks.Callback):
    """Training's progress as the course's training reports it: a batch line (running loss and accuracy of the
    epoch, examples per second, the epoch's ETA) at most every `interval` seconds and at an epoch's last batch,
    and a line per epoch with its validation result and the run's ETA. Keras's own progress bar is meant for a
    terminal; in a pipe (a notebook cell) it prints nothing useful until the end."""

    def __init__(self, epochs, rows, batch_size, interval):
        super().__init__()
        self.epochs, self.rows, self.batch_size, self.interval = epochs, rows, batch_size, interval
        self.batches = -(-rows // batch_size)
        self.epoch_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.started = self.shown = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now, done = time.perf_counter(), batch + 1
        if now - self.shown < self.interval and done != self.batches:
            return
        self.shown = now
        seen = min(done * self.batch_size, self.rows)
        rate = seen / max(now - self.started, 1e-9)
        logs = logs or {}
        progress({"type": "batch", "epoch": self.epoch, "epochs": self.epochs, "batch": done, "batches": self.batches,
                  "loss": float(logs.get("loss", float("nan"))), "accuracy": float(logs.get("accuracy", float("nan"))),
                  "examplesPerSecond": rate, "epochEtaSeconds": (self.rows - seen) / rate})

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self.started)
        logs = logs or {}
        mean = sum(self.epoch_seconds) / len(self.epoch_seconds)
        record = {"epoch": epoch + 1, "seconds": self.epoch_seconds[-1]}
        for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
            record[k] = float(logs.get(k, float("nan")))
        progress({"type": "epoch", "epochs": self.epochs, "record": record,
                  "runEtaSeconds": mean * (self.epochs - epoch - 1)})


def cmd_train(a):
    x_train = np.load(os.path.join(a.data, "x_train.npy"))
    y_train = np.load(os.path.join(a.data, "y_train.npy"))
    x_test = np.load(os.path.join(a.data, "x_test.npy"))
    y_test = np.load(os.path.join(a.data, "y_test.npy"))
    if a.train_size:
        x_train, y_train = x_train[: a.train_size], y_train[: a.train_size]
    if a.test_size:
        x_test, y_test = x_test[: a.test_size], y_test[: a.test_size]
    num_words = a.num_words or int(max(x_train.max(), x_test.max())) + 1
    keras.utils.set_random_seed(a.seed)
    model = blog_model(num_words, x_train.shape[1], a.units, a.dropout, a.recurrent_dropout, a.reset_after == "true", a.embedding_dim)
    started = time.perf_counter()
    lines = ProgressLines(a.epochs, len(x_train), a.batch_size, a.progress_seconds)
    history = model.fit(x_train, y_train, epochs=a.epochs, batch_size=a.batch_size,
                        validation_data=(x_test, y_test), verbose=0, callbacks=[lines])
    seconds = time.perf_counter() - started
    for path in a.out:
        save(model, path)
    p = model.predict(x_test, batch_size=256, verbose=0).reshape(-1).astype("float32")
    if a.predictions:
        np.save(a.predictions, p)
    print(json.dumps({
        "keras_version": keras.__version__, "saved": a.out, "num_words": num_words, "max_len": int(x_train.shape[1]),
        "train_size": int(len(x_train)), "test_size": int(len(x_test)), "seconds": seconds,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
    }))


def cmd_predict(a):
    model = keras.models.load_model(a.model, compile=False)
    x = np.load(a.x)
    p = model.predict(x, batch_size=256, verbose=0).reshape(-1).astype("float32")
    np.save(a.out, p)
    print(json.dumps({"keras_version": keras.__version__, "model": a.model, "rows": int(len(x))}))


UNSUPPORTED_KINDS = ["lstm", "relu", "mask_zero", "bidirectional", "return_sequences"]


def unsupported_model(kind):
    """A small untrained model of the course's shape but for one thing this course does not import."""
    L = keras.layers
    rnn = {
        "lstm": lambda: L.LSTM(4),
        "relu": lambda: L.GRU(4, activation="relu"),
        "mask_zero": lambda: L.GRU(4),
        "bidirectional": lambda: L.Bidirectional(L.GRU(4)),
        "return_sequences": lambda: L.GRU(4, return_sequences=True),
    }[kind]
    layers = [keras.Input(shape=(12,), dtype="int32"), L.Embedding(50, 8, mask_zero=kind == "mask_zero"), rnn()]
    if kind == "return_sequences":
        layers.append(L.GlobalAveragePooling1D())
    layers.append(L.Dense(1, activation="sigmoid"))
    return keras.Sequential(layers)


def cmd_unsupported(a):
    saved = {}
    for item in a.model:
        kind, _, path = item.partition("=")
        if kind not in UNSUPPORTED_KINDS or not path:
            raise SystemExit(f"--model {item!r}: use KIND=FILE with KIND one of {', '.join(UNSUPPORTED_KINDS)}")
        save(unsupported_model(kind), path)
        saved[kind] = path
    print(json.dumps({"keras_version": keras.__version__, "saved": saved}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True, help="folder with x_train.npy, y_train.npy, x_test.npy, y_test.npy")
    t.add_argument("--out", required=True, action="append", help="model file to save (.keras or .h5); repeatable")
    t.add_argument("--predictions", help="save P(positive) on x_test here (.npy)")
    t.add_argument("--train-size", type=int, default=0, help="first N training rows (0: all)")
    t.add_argument("--test-size", type=int, default=0, help="first N test rows (0: all)")
    t.add_argument("--num-words", type=int, default=10000)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--units", type=int, default=128)
    t.add_argument("--embedding-dim", type=int, default=128)
    t.add_argument("--dropout", type=float, default=0.2)
    t.add_argument("--recurrent-dropout", type=float, default=0.2)
    t.add_argument("--reset-after", choices=["true", "false"], default="true")
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--progress-seconds", type=float, default=10.0,
                   help="least seconds between two batch lines (an epoch's last batch is always shown)")
    r = sub.add_parser("predict")
    r.add_argument("model")
    r.add_argument("--x", required=True, help="int32 .npy of ids [rows, maxLen]")
    r.add_argument("--out", required=True, help="where to save P(positive) (.npy, float32)")
    u = sub.add_parser("unsupported")
    u.add_argument("--model", required=True, action="append", metavar="KIND=FILE",
                   help=f"save a model of KIND ({', '.join(UNSUPPORTED_KINDS)}) as FILE (.keras or .h5); repeatable")
    a = p.parse_args()
    {"train": cmd_train, "predict": cmd_predict, "unsupported": cmd_unsupported}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
