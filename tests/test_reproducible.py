"""Re-running a training run on the same machine gives the same history, bit for bit.

The notebooks set `keras.utils.set_random_seed(1)` before each training run.
This test trains a small network like those of notebooks 4 and 5 the way they do
(float32 in 0..1, validation with batches of 1,000, 64 steps per execution), on
1,000 images for two short epochs, in two separate Python processes, and
compares the histories exactly.
"""

import json
import subprocess
import sys

TRAIN = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from cnn_lesson import load_cifar10

(train_images, train_labels), (test_images, test_labels) = load_cifar10(verbose=False)
train_images = train_images[:1000].astype("float32") / 255
train_labels = train_labels[:1000]
test_images = test_images[:2000].astype("float32") / 255
test_labels = test_labels[:2000]
keras.utils.set_random_seed(1)
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Dropout(0.2)(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
    steps_per_execution=int(sys.argv[1]),
)
history = model.fit(
    train_images, train_labels, epochs=2,
    validation_data=(test_images, test_labels),
    validation_batch_size=int(sys.argv[2]),
    verbose=0,
)
print(json.dumps({k: [float(v).hex() for v in vs] for k, vs in history.history.items()}))
"""


def train_once(steps_per_execution=64, validation_batch_size=1000):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            TRAIN,
            str(steps_per_execution),
            str(validation_batch_size),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_same_seed_gives_bit_identical_history():
    first, second = train_once(), train_once()
    assert set(first) == {"accuracy", "loss", "val_accuracy", "val_loss"}
    assert first == second
    # and the run really trained: the loss went down
    assert float.fromhex(first["loss"][1]) < float.fromhex(first["loss"][0])


def test_grouped_steps_and_large_validation_batches_change_no_result():
    # Notebook 4: 64 steps per call into TensorFlow, and validation in batches
    # of 1,000 instead of Keras' default 32, only save time.
    plain = train_once(steps_per_execution=1, validation_batch_size=32)
    fast = train_once(steps_per_execution=64, validation_batch_size=1000)
    for key in ("accuracy", "loss", "val_accuracy"):
        assert plain[key] == fast[key], key
    for a, b in zip(plain["val_loss"], fast["val_loss"]):  # summed in another order
        assert abs(float.fromhex(a) - float.fromhex(b)) < 1e-5
