# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Acting on the training plots
#
# **Questions**
#
# - How do we choose a change to the model from its training history?
# - Does more dropout, or more data, help this network?
#
# **Objectives**
#
# - Compare dropout rates side by side, with the same data and epochs.
# - Read the comparison as a plot of final training and validation accuracy.
# - Measure the effect of training on more images.

# %% [markdown]
# ## Setup and data
#
# This time we keep the first 10,000 training images, since the last
# experiment uses them; the dropout comparison uses the first 5,000, as
# before.

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import keras
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from cnn_lesson import load_cifar10, save_fig

# %% tags=["nbval-ignore-output"]
(train_images, train_labels), (test_images, test_labels) = load_cifar10()

# %%
n = 5000
more_images = train_images[:10_000].astype("float32") / 255
more_labels = train_labels[:10_000]
train_images = more_images[:n]
train_labels = more_labels[:n]
test_images = test_images.astype("float32") / 255
train_images.shape, more_images.shape

# %% [markdown]
# ## One experiment, several settings
#
# The training plots of notebook 5 showed overfitting: training accuracy far
# above validation accuracy. Dropout narrowed the gap a little. Would more
# dropout help more? To compare fairly, every setting gets the same network,
# data, seed and number of epochs. A function that builds, compiles and trains
# the network of notebook 5 with a given dropout rate keeps the comparison
# short. We train for 10 epochs to keep each run under a minute.

# %%
def train_model(dropout_rate, images, labels, epochs=10):
    """Train the network of notebook 5 with the given dropout rate."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
    x = keras.layers.MaxPooling2D((2, 2))(x)
    x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
    x = keras.layers.Dropout(dropout_rate)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    outputs = keras.layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=64,
    )
    history = model.fit(
        images,
        labels,
        epochs=epochs,
        validation_data=(test_images, test_labels),
        validation_batch_size=1000,
        verbose=0,
    )
    final = {key: values[-1] for key, values in history.history.items()}
    print(
        f"dropout {dropout_rate}: training accuracy {final['accuracy']:.3f}, "
        f"validation accuracy {final['val_accuracy']:.3f}"
    )
    return final


# %% [markdown]
# Each of the next three cells trains one setting.

# %% tags=["nbval-ignore-output"]
results = {}
results[0.0] = train_model(0.0, train_images, train_labels)

# %% tags=["nbval-ignore-output"]
results[0.2] = train_model(0.2, train_images, train_labels)

# %% tags=["nbval-ignore-output"]
results[0.5] = train_model(0.5, train_images, train_labels)

# %% [markdown]
# ## Compare
#
# One row per dropout rate; the gap is training minus validation accuracy.

# %% tags=["nbval-ignore-output"]
results_df = pd.DataFrame(results).T[["accuracy", "val_accuracy"]]
results_df.index.name = "dropout rate"
results_df["gap"] = results_df["accuracy"] - results_df["val_accuracy"]
results_df.round(3)

# %%
plot_df = results_df.reset_index().melt(
    id_vars="dropout rate",
    value_vars=["accuracy", "val_accuracy"],
    var_name="data",
    value_name="final accuracy",
)
fig, ax = plt.subplots(figsize=(6, 4))
sns.lineplot(
    data=plot_df, x="dropout rate", y="final accuracy", hue="data", marker="o", ax=ax
)
ax.set_title("after 10 epochs on 5,000 images")
save_fig(fig, "07-dropout-rates")
plt.show()

# %% [markdown]
# Going from no dropout to a rate of 0.5 lowers the training accuracy and
# shrinks the gap to validation accuracy: dropout does what it promises, it
# holds back memorisation. The validation accuracy, though, changes by only a
# couple of points between the three rates. Dropout makes the network learn
# more slowly, and ten epochs are too few for that to pay off. Only a longer
# run (30 to 50 epochs, with early stopping, see below) would show whether a
# rate of 0.5 ends higher. The cell below checks what this comparison shows.

# %%
gaps = results_df["gap"]
assert gaps[0.5] < gaps[0.0], gaps
assert results_df["accuracy"][0.5] < results_df["accuracy"][0.0]
assert (results_df["val_accuracy"] - results_df["val_accuracy"][0.0]).abs().max() < 0.05

# %% [markdown]
# ## Another lever: more data
#
# Overfitting means the network learns the training images rather than the
# classes. The most reliable cure is more examples per class. We train the same
# network (dropout 0.2, 10 epochs) on the first 10,000 images instead of
# 5,000. Each epoch now takes about twice as long.

# %% tags=["nbval-ignore-output"]
more_data = train_model(0.2, more_images, more_labels)

# %% tags=["nbval-ignore-output", "key-figure"]
gain = more_data["val_accuracy"] - results[0.2]["val_accuracy"]
print(f"validation accuracy gain from 10,000 images: {gain:+.3f}")

# %% [markdown]
# Doubling the training data raises the validation accuracy by several points,
# more than any dropout rate did. When a model overfits and more data is
# available, use it. The cell below checks the claim, and that the gain is
# larger than the spread between the dropout rates.

# %%
assert gain > 0.03, gain
spread = results_df["val_accuracy"].max() - results_df["val_accuracy"].min()
assert gain > spread, (gain, spread)

# %% [markdown]
# Early stopping is the other lever such plots suggest: Keras'
# `keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
# restore_best_weights=True)`, passed to `fit` as `callbacks=[...]`, stops
# training once the validation loss has not improved for three epochs and
# keeps the best weights. It matters for long runs, where the validation loss
# of notebook 5 turns upwards.
#
# ## Exercise: a smaller network
#
# Overfitting can also be reduced by giving the network fewer parameters.
# Train a version of the network with 16 instead of 32 kernels in each
# convolutional layer (5,000 images, dropout 0.2, 10 epochs). How do its
# training and validation accuracy compare with `results[0.2]`?

# %% tags=["nbval-ignore-output", "solution"]
keras.utils.set_random_seed(1)
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(16, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(16, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(16, (3, 3), activation="relu")(x)
x = keras.layers.Dropout(0.2)(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)
small = keras.Model(inputs, outputs)
small.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
    steps_per_execution=64,
)
small_history = small.fit(
    train_images,
    train_labels,
    epochs=10,
    validation_data=(test_images, test_labels),
    validation_batch_size=1000,
    verbose=0,
)
print(
    f"training {small_history.history['accuracy'][-1]:.3f}, "
    f"validation {small_history.history['val_accuracy'][-1]:.3f}"
)

# %% [markdown]
# ## Key points
#
# - Compare settings one change at a time, with the same data, seed and epochs.
# - More dropout lowers training accuracy and narrows the gap; whether it
#   raises validation accuracy depends on training long enough.
# - More training data is the most reliable cure for overfitting.
# - Early stopping ends training when the validation loss stops improving.
