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
# # 3. What a convolution kernel does
#
# **Questions**
#
# - What does a convolution kernel compute?
# - What happens at the border of an image?
#
# **Objectives**
#
# - Apply a 3 x 3 kernel to a small matrix by hand.
# - Apply the same kernel to a real CIFAR-10 image and see which features it
#   picks out.
# - Explain why a convolution shrinks its input, and how padding prevents it.

# %% [markdown]
# ## Setup

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import keras
import matplotlib.pyplot as plt
import numpy as np

from cnn_lesson import load_cifar10, save_fig

# %% [markdown]
# ## A kernel for horizontal edges
#
# A kernel is a small grid of weights. This one has a row of -1s above a row of
# 0s above a row of 1s: it gives a large value where the image is dark above and
# bright below, that is, at a horizontal edge.

# %%
kernel = np.array(
    [
        [-1, -1, -1],
        [0, 0, 0],
        [1, 1, 1],
    ]
)

# %% [markdown]
# A convolution places the kernel over each 3 x 3 patch of the input, multiplies
# the patch by the kernel element by element, and adds up the products. (Deep
# learning libraries call this convolution; mathematicians would call it
# cross-correlation, since the kernel is not flipped.) Here it is in a few
# lines of NumPy:

# %%
def convolve(image, kernel):
    """Slide `kernel` over `image` and return the sums of products (no padding)."""
    k_height, k_width = kernel.shape
    out_height = image.shape[0] - k_height + 1
    out_width = image.shape[1] - k_width + 1
    result = np.zeros((out_height, out_width))
    for row in range(out_height):
        for col in range(out_width):
            patch = image[row : row + k_height, col : col + k_width]
            result[row, col] = np.sum(patch * kernel)
    return result


# %% [markdown]
# ## On a small matrix
#
# A 6 x 6 "image" whose top half is dark (0) and bottom half bright (1): one
# horizontal edge across the middle.

# %%
matrix = np.zeros((6, 6))
matrix[3:, :] = 1
matrix

# %%
edges = convolve(matrix, kernel)
edges

# %% [markdown]
# The result is 3 only in the two rows where the kernel straddles the edge, and
# 0 wherever the patch is uniform. Note also that the 6 x 6 input became a
# 4 x 4 output; we return to that below.

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
for ax, values, title in zip(
    axes, [matrix, kernel, edges], ["input", "kernel", "output"]
):
    ax.imshow(values, cmap="gray")
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, f"{value:g}", ha="center", va="center", color="tab:red")
    ax.set_title(title)
    ax.axis("off")
save_fig(fig, "03-kernel-on-matrix")
plt.show()

# %% [markdown]
# ## On a real image
#
# We load CIFAR-10 (from the project's cache, after the first notebook) and
# take one training image. To keep the example simple we turn it into a
# grey-scale image by averaging its three colour channels.

# %% tags=["nbval-ignore-output"]
(train_images, train_labels), (test_images, test_labels) = load_cifar10()

# %%
image = train_images[7].astype("float32") / 255
gray = image.mean(axis=2)
gray.shape

# %%
image_edges = convolve(gray, kernel)

fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
axes[0].imshow(image)
axes[0].set_title("image")
axes[1].imshow(gray, cmap="gray")
axes[1].set_title("grey scale")
axes[2].imshow(image_edges, cmap="RdBu_r", vmin=-2, vmax=2)
axes[2].set_title("after the kernel")
for ax in axes:
    ax.axis("off")
save_fig(fig, "03-kernel-on-image")
plt.show()

# %% [markdown]
# Red marks places where the image gets brighter from top to bottom, blue
# where it gets darker, and white where nothing changes vertically. The kernel
# has found the horizontal edges; vertical edges are ignored. A convolutional
# layer learns many such kernels from data instead of having them written by
# hand.
#
# Keras' `Conv2D` layer computes exactly this. We give a layer our kernel as its
# only weight and compare:

# %%
conv = keras.layers.Conv2D(1, (3, 3), use_bias=False)
conv.build((None, 32, 32, 1))
conv.set_weights([kernel.reshape(3, 3, 1, 1).astype("float32")])
keras_edges = conv(gray.reshape(1, 32, 32, 1))
keras_edges.shape

# %%
assert np.allclose(keras_edges[0, :, :, 0], image_edges, atol=1e-5)

# %% [markdown]
# ## Border pixels and padding
#
# The kernel needs a full 3 x 3 patch, so it cannot be centred on the pixels of
# the outermost rows and columns. Without padding, each convolution therefore
# loses one pixel on every side:

# %% tags=["key-figure"]
image_edges.shape

# %% [markdown]
# A 32 x 32 image becomes 30 x 30. With `padding="same"`, Keras adds a border
# of zeros around the input first, so the output keeps the input's size:

# %%
same_conv = keras.layers.Conv2D(1, (3, 3), padding="same", use_bias=False)
same_conv(gray.reshape(1, 32, 32, 1)).shape

# %% [markdown]
# Which to use is a design choice: without padding, stacked layers shrink the
# image step by step and the outermost pixels count for less and less; with
# padding, the size stays the same from layer to layer.
#
# ## Exercise: vertical edges
#
# Write a kernel that responds to vertical edges instead (dark on the left,
# bright on the right) and apply it to `gray`. What changes in the picture?

# %% tags=["solution"]
vertical_kernel = kernel.T
vertical_edges = convolve(gray, vertical_kernel)
plt.imshow(vertical_edges, cmap="RdBu_r", vmin=-2, vmax=2)
plt.axis("off")
plt.show()

# %% [markdown]
# ## Beyond images
#
# Convolution works wherever nearby values belong together and the same
# pattern can appear anywhere. One-dimensional convolutions (`Conv1D`) slide
# along time series such as sensor readings or stock prices, and along audio
# signals; three-dimensional ones (`Conv3D`) slide through volumes such as
# medical scans, 3D structures of molecules, or video (two dimensions of space
# and one of time).
#
# ## Key points
#
# - A kernel is a small grid of weights; convolving sums the element-wise
#   products of the kernel with each patch of the input.
# - Different kernels pick out different features, for example horizontal or
#   vertical edges.
# - Without padding, a 3 x 3 convolution loses one pixel on each side;
#   `padding="same"` keeps the size.
