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
# # 4. Convolutional networks and pooling
#
# **Questions**
#
# - How do we build and train a small convolutional network in Keras?
# - Which layers hold the parameters, and how does pooling change that?
#
# **Objectives**
#
# - Build a network of convolutional, flatten and dense layers.
# - Explain which layer has the most parameters and why.
# - Add max pooling and see the effect on the parameter count.
# - Compile with Adam and sparse categorical cross-entropy, train with
#   validation data, and plot the training history.

# %% [markdown]
# ## Setup and data
#
# Each notebook of the lesson runs on its own, so we load and prepare the data
# again, exactly as in notebook 1: the first 5,000 training images, pixels
# scaled to 0..1.

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
train_images = train_images[:n].astype("float32") / 255
train_labels = train_labels[:n]
test_images = test_images.astype("float32") / 255
train_images.shape, test_images.shape

# %% [markdown]
# ## A first convolutional network
#
# Two convolutional layers of 32 kernels of 3 x 3, each followed by the ReLU
# activation; then a `Flatten` layer and a dense layer with one output per
# class. `Flatten` does no computation and has no parameters: it reshapes the
# last convolution's output, a 28 x 28 x 32 block of feature maps, into one
# vector, because a dense layer expects a vector as input.

# %%
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.Flatten()(x)
outputs = keras.layers.Dense(10)(x)

model = keras.Model(inputs=inputs, outputs=outputs, name="two_conv")
model.summary(line_length=80, print_fn=print)

# %% [markdown]
# The two convolutional layers together have about 10,000 parameters; the
# dense layer has over 250,000. Every one of the 25,088 values coming out of
# `Flatten` is connected to each of the 10 outputs. The cell below checks that
# the dense layer holds most of the network's parameters.

# %%
counts = {layer.name: layer.count_params() for layer in model.layers}
largest = max(counts, key=counts.get)
assert isinstance(model.get_layer(largest), keras.layers.Dense), counts
assert counts[largest] > 0.9 * model.count_params()
two_conv_parameters = model.count_params()
print(f"{largest}: {counts[largest]:,} of {model.count_params():,} parameters")

# %% [markdown]
# ## Max pooling
#
# A `MaxPooling2D((2, 2))` layer keeps the largest value of every 2 x 2 block of
# a feature map. It halves the height and the width, keeps the strongest
# responses, and makes the network less sensitive to small shifts in the image.
# Pooling after each convolution shrinks the block that reaches the dense
# layers, and so the number of parameters there. With the pooled features we
# can afford a hidden dense layer of 32 units before the output.
#
# This is the network we will train. Its initial weights are drawn at random
# when the layers are created, so we set the random seed first: a re-run on
# the same computer then gives exactly the same results. (On another computer
# the numbers differ a little.)

# %%
keras.utils.set_random_seed(1)
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(32, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)

model = keras.Model(inputs=inputs, outputs=outputs, name="conv_pool")
model.summary(line_length=80, print_fn=print)

# %% [markdown]
# 47,370 parameters in all, less than a fifth of the network without pooling,
# even though it has one more dense layer.

# %%
assert model.count_params() == 47_370
assert model.count_params() < two_conv_parameters / 5

# %% [markdown]
# ## Compile
#
# Compiling chooses how the network learns:
#
# - the optimizer, Adam, a good default that adapts its step size per weight;
# - the loss, sparse categorical cross-entropy: *sparse* because the labels
#   are class numbers rather than one-hot vectors, and `from_logits=True`
#   because our last layer outputs raw scores (logits), not probabilities;
# - the metric we want to watch, accuracy;
# - `steps_per_execution=64`, which lets TensorFlow run 64 training steps in
#   one go before it reports back to Python. For a network this small, the
#   hand-over after every batch of 32 images costs a noticeable share of the
#   time; grouping steps saves it and changes no result.

# %%
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
    steps_per_execution=64,
)

# %% [markdown]
# ## Train
#
# We train for 10 epochs (passes over the 5,000 images) and measure accuracy
# on the 10,000 test images after each epoch, as validation data. Validation
# needs no gradients, so it can run in batches of 1,000 images instead of the
# default 32: far fewer steps, the same accuracy. `verbose=2` prints one line
# per epoch.

# %% tags=["nbval-ignore-output"]
history = model.fit(
    train_images,
    train_labels,
    epochs=10,
    validation_data=(test_images, test_labels),
    validation_batch_size=1000,
    verbose=2,
)

# %% [markdown]
# ## Plot the training history
#
# `history.history` is a dictionary of lists, one value per epoch. A pandas
# DataFrame makes it easy to look at and to plot. We number the epochs from 1.

# %% tags=["nbval-ignore-output"]
history_df = pd.DataFrame(history.history)
history_df.index = history_df.index + 1
history_df.index.name = "epoch"
history_df.round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
sns.lineplot(data=history_df[["accuracy", "val_accuracy"]], ax=axes[0])
axes[0].set_ylabel("accuracy")
sns.lineplot(data=history_df[["loss", "val_loss"]], ax=axes[1])
axes[1].set_ylabel("loss")
save_fig(fig, "04-conv-pool-history")
plt.show()

# %% [markdown]
# Training and validation accuracy both rise well above chance (0.1 for ten
# classes). By the last epoch the training accuracy is higher than the
# validation accuracy: the network starts to fit details of the 5,000
# training images that do not carry over to new ones. The cell below checks
# both statements with bounds that hold on other computers too (this network
# reaches a validation accuracy of about 0.5).

# %% tags=["nbval-ignore-output", "key-figure"]
final = history_df.iloc[-1]
print(f"validation accuracy after 10 epochs: {final['val_accuracy']:.3f}")
assert final["val_accuracy"] > 0.40
assert final["accuracy"] > final["val_accuracy"]

# %% [markdown]
# ## Exercise: fewer kernels
#
# Build the pooling network again with 16 kernels in each convolutional layer
# instead of 32. Before calling `summary()`, predict: does the total number of
# parameters go up or down, and roughly by how much?

# %% tags=["solution"]
inputs = keras.Input(shape=(32, 32, 3))
x = keras.layers.Conv2D(16, (3, 3), activation="relu")(inputs)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Conv2D(16, (3, 3), activation="relu")(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)
small_model = keras.Model(inputs=inputs, outputs=outputs, name="conv_pool_16")
small_model.summary(line_length=80, print_fn=print)
# About half: the Flatten output halves (6 x 6 x 16), so does the first dense
# layer, and the second convolution has a quarter of its weights.

# %% [markdown]
# ## Key points
#
# - `Flatten` turns feature maps into a vector for dense layers; it has no
#   parameters.
# - In a convolutional network most parameters usually sit in the first dense
#   layer after `Flatten`.
# - Max pooling halves the size of feature maps and cuts the parameters of the
#   dense layers that follow.
# - Compile with an optimizer, a loss and metrics; train with `fit`, watching
#   accuracy on validation data; plot `history.history` through a DataFrame.
