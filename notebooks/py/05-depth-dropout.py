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
# # 5. A deeper network, and dropout against overfitting
#
# **Questions**
#
# - What does one more convolutional layer change?
# - What is overfitting, and how does dropout reduce it?
#
# **Objectives**
#
# - Add a convolutional layer and explain why the parameter count goes down.
# - Recognise overfitting in a training history.
# - Add a `Dropout` layer and measure its effect on the gap between training
#   and validation accuracy.
# - Evaluate the final model on the test set and save it.

# %% [markdown]
# ## Setup and data
#
# The same data preparation as in the previous notebooks.

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import keras
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from cnn_lesson import load_cifar10, save_fig
from cnn_lesson.paths import data_dir

# %% tags=["nbval-ignore-output"]
(train_images, train_labels), (test_images, test_labels) = load_cifar10()

# %%
n = 5000
train_images = train_images[:n].astype("float32") / 255
train_labels = train_labels[:n]
test_images = test_images.astype("float32") / 255
train_images.shape, test_images.shape

# %% [markdown]
# We will plot two training histories, so the plotting steps of notebook 4 go
# into a small function: a DataFrame indexed by epoch from 1, and accuracy and
# loss side by side.

# %%
def plot_history(history, name):
    """Plot accuracy and loss per epoch; return the history as a DataFrame."""
    history_df = pd.DataFrame(history.history)
    history_df.index = history_df.index + 1
    history_df.index.name = "epoch"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    sns.lineplot(data=history_df[["accuracy", "val_accuracy"]], ax=axes[0])
    axes[0].set_ylabel("accuracy")
    sns.lineplot(data=history_df[["loss", "val_loss"]], ax=axes[1])
    axes[1].set_ylabel("loss")
    save_fig(fig, name)
    plt.show()
    return history_df


# %% [markdown]
# ## One more convolutional layer
#
# We take the pooling network of notebook 4 and add a third convolutional layer
# after the second pooling layer. As before, the seed is set before the layers
# draw their initial weights.

# %%
keras.utils.set_random_seed(1)
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)

model = keras.Model(inputs=inputs, outputs=outputs, name="conv_depth")
model.summary(line_length=80, print_fn=print)

# %% [markdown]
# The deeper network has *fewer* parameters than the one in notebook 4: 36,138
# against 47,370. The new layer adds 9,248 weights, but it also shrinks the
# feature maps from 6 x 6 to 4 x 4, so `Flatten` now hands 4 x 4 x 32 = 512
# values to the dense layer instead of 6 x 6 x 32 = 1,152, and the dense layer
# loses more weights than the convolution adds.

# %%
flatten_size = model.get_layer(index=6).output.shape[-1]  # input is layer 0
print(flatten_size)
assert flatten_size == 512
conv_pool_parameters = 47_370  # the pooling network of notebook 4
assert model.count_params() == 36_138 < conv_pool_parameters

# %% [markdown]
# ## Train for 20 epochs
#
# The same compile and fit steps as before, now for 20 epochs.

# %% tags=["nbval-ignore-output"]
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
    steps_per_execution=64,
)
history = model.fit(
    train_images,
    train_labels,
    epochs=20,
    validation_data=(test_images, test_labels),
    validation_batch_size=1000,
    verbose=2,
)

# %%
history_df = plot_history(history, "05-depth-history")

# %% [markdown]
# Training accuracy keeps climbing, but over the second ten epochs validation
# accuracy gains much less than training accuracy, and the validation loss
# ends above its lowest point. The network
# is *overfitting*: it learns the 5,000 training images ever better, partly by
# memorising them, without getting better on images it has not seen. We
# measure the gap between the two accuracies, averaged over the last five
# epochs (a single epoch's validation accuracy jumps up and down by a point or
# two).

# %% tags=["nbval-ignore-output"]
gap = history_df["accuracy"] - history_df["val_accuracy"]
depth_gap = gap.iloc[-5:].mean()
print(f"training minus validation accuracy, epochs 16-20: {depth_gap:.2f}")
assert depth_gap > 0.05
second_half = history_df.loc[20] - history_df.loc[10]
assert second_half["accuracy"] > second_half["val_accuracy"]
assert history_df["val_loss"].iloc[-1] > history_df["val_loss"].min()

# %% [markdown]
# ## Dropout
#
# A `Dropout` layer sets a random fraction of its inputs to zero at each
# training step, here 20%. The network cannot rely on any single feature, so it
# learns more robust ones. Dropout is only active during training; when the
# model predicts, all values pass through. We add it after the third
# convolutional layer.

# %%
keras.utils.set_random_seed(1)
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.Dropout(0.2)(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)

model_dropout = keras.Model(inputs=inputs, outputs=outputs, name="conv_dropout")
model_dropout.summary(line_length=80, print_fn=print)

# %% [markdown]
# The total is unchanged, 36,138: the dropout layer has no parameters of its
# own, it only decides which values pass.

# %%
dropout_layer = model_dropout.get_layer(index=6)  # input is layer 0
assert isinstance(dropout_layer, keras.layers.Dropout)
assert dropout_layer.count_params() == 0
assert model_dropout.count_params() == model.count_params() == 36_138

# %% tags=["nbval-ignore-output"]
model_dropout.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
    steps_per_execution=64,
)
history = model_dropout.fit(
    train_images,
    train_labels,
    epochs=20,
    validation_data=(test_images, test_labels),
    validation_batch_size=1000,
    verbose=2,
)

# %%
history_df = plot_history(history, "05-dropout-history")

# %% [markdown]
# Training accuracy now stays a little closer to validation accuracy: over the
# last five epochs the gap is smaller than without dropout. The cell below
# checks it. A rate of 0.2 is a gentle dose; notebook 7 tries more.

# %% tags=["nbval-ignore-output"]
gap = history_df["accuracy"] - history_df["val_accuracy"]
dropout_gap = gap.iloc[-5:].mean()
print(f"gap without dropout: {depth_gap:.3f}, with dropout: {dropout_gap:.3f}")
assert dropout_gap < depth_gap

# %% [markdown]
# ## Evaluate on the test set
#
# `evaluate` computes the loss and metrics on data the model was not trained
# on. We used the test set as validation data, so the result is the last
# epoch's validation accuracy again (the cell checks that too). That shortcut
# keeps the lesson simple; a real project keeps a separate validation set for
# decisions made during training and looks at the test set only once, at the
# end.

# %% tags=["nbval-ignore-output", "key-figure"]
test_loss, test_accuracy = model_dropout.evaluate(
    test_images, test_labels, batch_size=1000, verbose=0
)
print(f"test accuracy: {test_accuracy:.3f}")
assert abs(test_accuracy - history_df["val_accuracy"].iloc[-1]) < 1e-6

# %% [markdown]
# About half of the test images are classified correctly, several times as many
# as guessing would get (one in ten), from only 5,000 training images and a few
# minutes on a laptop. The exact figure differs a little between computers and
# between random seeds (by a point or two around 0.5), so the check below uses
# a lower bound that holds everywhere.

# %%
assert test_accuracy > 0.45

# %% [markdown]
# ## Save the model
#
# Saving the trained model lets the next notebook inspect it without training
# again. Keras 3 needs the `.keras` extension for its own format.

# %%
model_file = data_dir() / "models" / "dropout.keras"
model_file.parent.mkdir(parents=True, exist_ok=True)
model_dropout.save(model_file)

# %% [markdown]
# ## Exercise: where to put dropout
#
# Move the `Dropout(0.2)` layer to just before the last dense layer instead.
# Does the number of parameters change? Predict first, then check with
# `summary()`. (Training it is optional: it takes another 20 epochs.)

# %% tags=["solution"]
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
x = keras.layers.Dropout(0.2)(x)
outputs = keras.layers.Dense(10)(x)
keras.Model(inputs, outputs, name="dropout_late").summary(
    line_length=80, print_fn=print
)
# Still 36,138: wherever it sits, dropout adds no parameters.

# %% [markdown]
# ## Going further
#
# Networks that reach well over 90% on CIFAR-10 are much deeper, train on all
# 50,000 images with data augmentation for many epochs, and are usually not
# trained from scratch: `keras.applications` offers networks pre-trained on
# millions of ImageNet photos that can be fine-tuned for new classes. Search
# for "CIFAR-10 state of the art" to find published results and the models
# behind them.
#
# ## Key points
#
# - More layers do not mean more parameters: a convolution that shrinks the
#   feature maps can cut the parameters of the dense layer after it.
# - Overfitting shows as training accuracy rising while validation accuracy
#   stalls and validation loss rises.
# - Dropout adds no parameters and narrows the gap between training and
#   validation accuracy (a little, at a rate of 0.2).
# - Save a trained model with `model.save("name.keras")`.
