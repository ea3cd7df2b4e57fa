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
# # 1. Exploring CIFAR-10
#
# **Questions**
#
# - What does an image look like to a neural network?
# - How big is CIFAR-10, and what do its labels mean?
#
# **Objectives**
#
# - Load CIFAR-10 and keep a subset that trains quickly on a laptop.
# - Inspect the shape, value range and labels of the data.
# - Scale pixel values to the range 0 to 1.
# - Plot a grid of images titled with their class names.

# %% [markdown]
# ## Setup
#
# TensorFlow prints a few lines of start-up messages when it is imported; the
# first line below asks it to keep quiet about anything short of an error.
# `cnn_lesson` is this lesson's small helper package: it fetches the data set
# and saves figures, nothing that the lesson teaches.

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import matplotlib.pyplot as plt
import numpy as np

from cnn_lesson import load_cifar10, save_fig

# %% [markdown]
# ## Load the data
#
# CIFAR-10 holds 60,000 colour photographs of 32 by 32 pixels, each showing
# one of ten kinds of object. The first time it runs, `load_cifar10` downloads
# the official archive (163 MB), checks its checksum and stores the images in
# the project's `data/` folder; afterwards it loads them from there in well
# under a second. It returns the same arrays as
# `keras.datasets.cifar10.load_data()`: 50,000 training and 10,000 test images.

# %% tags=["nbval-ignore-output"]
(train_images, train_labels), (test_images, test_labels) = load_cifar10()

# %% [markdown]
# Training on all 50,000 images takes a long time on a laptop, so we keep the
# first 5,000. That is enough to see a convolutional network learn.

# %%
n = 5000
train_images = train_images[:n]
train_labels = train_labels[:n]

# %% [markdown]
# ## What is in an image?
#
# The images are stored as one four-dimensional array: image number, row
# (height), column (width) and colour channel (red, green, blue).

# %% tags=["key-figure"]
train_images.shape

# %% [markdown]
# So each image is a 32 x 32 grid of pixels, and each pixel has three numbers.
# What range do those numbers cover?

# %%
int(train_images.min()), int(train_images.max())

# %% [markdown]
# Pixel values are whole numbers from 0 (no light in that channel) to 255
# (full brightness).
#
# ## Labels
#
# Each image has one label, a number that stands for its class. The labels
# come as a column: one row per image, one number per row.

# %%
train_labels.shape

# %%
int(train_labels.min()), int(train_labels.max())

# %% [markdown]
# There are ten classes, numbered 0 to 9. The number is an index into this
# list of class names:

# %%
class_names = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
len(class_names)

# %% [markdown]
# Because the labels have shape `(n, 1)`, the label of image `i` is
# `train_labels[i, 0]`, a single number; `train_labels[i]` would be an array
# holding that number.

# %%
class_names[train_labels[0, 0]]

# %% [markdown]
# ## Scaling to 0..1
#
# Neural networks train best on small input values. Dividing by 255 maps every
# pixel to the range 0 to 1. Converting to 32-bit floats first matters: Keras
# computes in 32-bit floats, and a 64-bit copy of the images would take twice
# the memory and be converted again at every training step.

# %%
train_images = train_images.astype("float32") / 255
test_images = test_images.astype("float32") / 255

float(train_images.min()), float(train_images.max())

# %% [markdown]
# ## Looking at the images
#
# A 5 x 5 grid of the first 25 training images, each titled with its class.
# `plt.imshow` expects floats in 0..1 (or whole numbers in 0..255), which is
# what we now have.

# %%
fig = plt.figure(figsize=(8, 8))
for i in range(25):
    ax = fig.add_subplot(5, 5, i + 1)
    ax.imshow(train_images[i])
    ax.set_title(class_names[train_labels[i, 0]])
    ax.axis("off")
save_fig(fig, "01-sample-images")
plt.show()

# %% [markdown]
# The images are small and often hard to recognise even for a person: a cat
# may be only a few pixels wide, and the background differs from photo to
# photo. That is what makes CIFAR-10 a good test for image classifiers.
#
# ## Exercise: how balanced is the subset?
#
# A classifier trained on data where one class is far more common than the
# others learns to favour that class. Count how many of the 5,000 training
# images belong to each class. Are the classes roughly balanced?
#
# Hint: `np.bincount` counts how often each whole number occurs.

# %% tags=["solution", "nbval-ignore-output"]
counts = np.bincount(train_labels[:, 0], minlength=10)
for name, count in zip(class_names, counts):
    print(f"{name:>10}: {count}")

# %% [markdown]
# Every class has close to 500 images, a tenth of the subset: no class
# dominates. (The exact counts depend on the order of the images in the
# archive, so they differ a little between copies of CIFAR-10.) The cell below
# checks the claim.

# %%
class_counts = np.bincount(train_labels[:, 0], minlength=10)
assert class_counts.sum() == n
assert class_counts.min() > 400 and class_counts.max() < 600, class_counts

# %% [markdown]
# ## Key points
#
# - A colour image is an array of height x width x 3 numbers.
# - CIFAR-10 pixels are whole numbers from 0 to 255; divide by 255 (as 32-bit
#   floats) to get values from 0 to 1.
# - Labels are class indices of shape `(n, 1)`: `class_names[labels[i, 0]]`
#   gives the name of image `i`.
# - Plotting a few examples is the quickest way to understand a data set.
