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
# # 2. Why not a dense network? Counting parameters
#
# **Questions**
#
# - How many parameters would a dense layer need for an image?
# - Why does a convolutional layer need so few?
#
# **Objectives**
#
# - Calculate the number of parameters of a dense layer on image input.
# - Check that count against `model.summary()`.
# - Calculate and check the number of weights of a convolutional layer.

# %% [markdown]
# ## Setup

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import keras

# %% [markdown]
# ## A dense layer on an image
#
# A dense layer connects every input value to every unit. To feed it a CIFAR-10
# image we first flatten the image into one long vector. How long?

# %%
dim = 3 * 32 * 32
print(dim)

# %% [markdown]
# A dense layer of 100 units has one weight for each input value and each unit,
# plus one bias per unit:

# %% tags=["key-figure"]
dense_parameters = dim * 100 + 100
print(f"{dense_parameters:,}")

# %% [markdown]
# Over 300,000 parameters for a single, small layer. Let's have Keras count
# them. The input shape is a tuple, `(dim,)`, even for one dimension.
#
# We call `model.summary()` with a fixed `line_length` and `print_fn=print`
# throughout the lesson, so that the table prints as plain text of the same
# width in every window; a plain `model.summary()` shows the same numbers.

# %%
inputs = keras.Input(shape=(dim,))
outputs = keras.layers.Dense(100)(inputs)
model = keras.Model(inputs=inputs, outputs=outputs, name="dense_on_pixels")
model.summary(line_length=80, print_fn=print)

# %% [markdown]
# The summary agrees: 307,300 parameters.

# %%
assert model.count_params() == dense_parameters == 307_300

# %% [markdown]
# ## A convolutional layer
#
# A convolutional layer slides small kernels over the image instead. A 3 x 3
# kernel that looks at all three colour channels has 3 x 3 x 3 weights, and the
# same weights are used at every position in the image. For 100 such kernels
# (leaving out the biases):

# %%
conv_weights = 3 * 3 * 3 * 100
print(f"{conv_weights:,}")

# %% [markdown]
# Keras agrees. A layer that is not yet part of a model gets its weights when
# it is built for an input shape; here a batch of any size (`None`) of
# 32 x 32 x 3 images.

# %%
conv_layer = keras.layers.Conv2D(100, (3, 3), use_bias=False)
conv_layer.build((None, 32, 32, 3))
print(f"{conv_layer.count_params():,}")

# %% [markdown]
# 2,700 weights against 307,300: the convolutional layer has over a hundred
# times fewer, and the number does not grow with the size of the image.

# %%
assert conv_layer.count_params() == conv_weights == 2_700
assert dense_parameters / conv_weights > 100

# %% [markdown]
# ## Exercise: with biases
#
# Create the same convolutional layer with biases (the default,
# `use_bias=True`). How many parameters does it have now, and why?

# %% tags=["solution"]
conv_with_bias = keras.layers.Conv2D(100, (3, 3))
conv_with_bias.build((None, 32, 32, 3))
print(f"{conv_with_bias.count_params():,}")  # 2,700 weights + one bias per kernel

# %% [markdown]
# ## Key points
#
# - A dense layer on flattened images needs a weight per pixel value per unit:
#   307,300 parameters for 100 units on a 32 x 32 colour image.
# - A convolutional layer shares a small kernel across the whole image: 100
#   kernels of 3 x 3 x 3 need 2,700 weights, whatever the image size.
# - `model.summary()` and `count_params()` let you check any calculation.
