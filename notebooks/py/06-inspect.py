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
# # 6. What does the model get right and wrong?
#
# **Questions**
#
# - Which test images does the trained network classify wrongly?
# - Which classes does it confuse, and is that plausible?
#
# **Objectives**
#
# - Turn the model's outputs (logits) into predicted classes and probabilities.
# - Plot test images with predicted and true classes, wrong ones marked.
# - Build and read a confusion matrix and per-class accuracies.
# - Find the images the model is most confident about and still gets wrong.

# %% [markdown]
# ## Setup and data

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import keras
import matplotlib.pyplot as plt
import numpy as np
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

# %% [markdown]
# ## The trained model
#
# Notebook 5 saved the network with dropout after training it. If you have not
# run notebook 5, the cell trains the same network here in the same way, with
# the same seed.

# %% tags=["nbval-ignore-output"]
model_file = data_dir() / "models" / "dropout.keras"
if model_file.exists():
    model = keras.models.load_model(model_file)
else:
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
    model = keras.Model(inputs=inputs, outputs=outputs, name="conv_dropout")
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=64,
    )
    model.fit(
        train_images,
        train_labels,
        epochs=20,
        validation_data=(test_images, test_labels),
        validation_batch_size=1000,
        verbose=2,
    )
model.name

# %% [markdown]
# ## Predictions
#
# The last layer outputs ten raw scores per image, the logits. The predicted
# class is the one with the highest score; `softmax` turns the scores into
# probabilities that add up to 1.

# %%
logits = model.predict(test_images, batch_size=1000, verbose=0)
probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
predicted = probabilities.argmax(axis=1)
true = test_labels[:, 0]
logits.shape, probabilities.shape

# %% tags=["nbval-ignore-output", "key-figure"]
test_accuracy = np.mean(predicted == true)
print(f"test accuracy: {test_accuracy:.3f}")

# %% [markdown]
# As in notebook 5, about half of the test images are right (the exact value
# differs a little from computer to computer, hence the generous lower bound).

# %%
assert test_accuracy > 0.45
assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)

# %% [markdown]
# ## A grid of predictions
#
# The first 25 test images, titled with the predicted class and, in brackets,
# the true one. Wrong predictions are in red.

# %%
fig = plt.figure(figsize=(9, 9))
for i in range(25):
    ax = fig.add_subplot(5, 5, i + 1)
    ax.imshow(test_images[i])
    right = predicted[i] == true[i]
    ax.set_title(
        f"{class_names[predicted[i]]}\n({class_names[true[i]]})",
        color="black" if right else "red",
        fontsize=9,
    )
    ax.axis("off")
save_fig(fig, "06-predictions")
plt.show()

# %% [markdown]
# ## The confusion matrix
#
# A confusion matrix counts, for every true class (rows), how often each class
# was predicted (columns). The diagonal holds the correct predictions.

# %%
confusion = pd.crosstab(
    pd.Categorical(true, categories=range(10)),
    pd.Categorical(predicted, categories=range(10)),
    dropna=False,
)
confusion.index = pd.Index(class_names, name="true")
confusion.columns = pd.Index(class_names, name="predicted")

fig, ax = plt.subplots(figsize=(8, 6.5))
sns.heatmap(confusion, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax)
ax.set_title("test images: true class (rows) against prediction (columns)")
save_fig(fig, "06-confusion-matrix")
plt.show()

# %% [markdown]
# The accuracy per class is the diagonal divided by the row sums (each class has
# 1,000 test images).

# %% tags=["nbval-ignore-output"]
class_accuracy = pd.Series(np.diag(confusion) / confusion.sum(axis=1), name="accuracy")
class_accuracy.sort_values().round(3)

# %% [markdown]
# Which pair of classes is mixed up most often, counting both directions?

# %% tags=["nbval-ignore-output"]
mixed = confusion.to_numpy() + confusion.to_numpy().T
np.fill_diagonal(mixed, 0)
pairs = pd.Series(
    {
        (class_names[a], class_names[b]): mixed[a, b]
        for a in range(10)
        for b in range(a + 1, 10)
    }
).sort_values(ascending=False)
pairs.head(5)

# %% [markdown]
# Cats and dogs are confused more than any other pair, and cat is among the
# classes the model gets wrong most often. That is plausible: at 32 x 32 pixels
# both are furry animals of similar shape, colour and pose, often indoors. The
# vehicles do much better, though automobile and truck, and airplane and ship
# (against sky or sea), are among the other common mix-ups. Animals against
# animals, vehicles against vehicles: the network tells the broad kind of
# object apart much better than the fine differences within it. The cell below
# checks these statements.

# %%
animals = {"bird", "cat", "deer", "dog", "frog", "horse"}
vehicles = {"airplane", "automobile", "ship", "truck"}
assert set(pairs.index[0]) == {"cat", "dog"}, pairs.head()
assert "cat" in class_accuracy.nsmallest(3).index
assert class_accuracy[list(vehicles)].mean() > class_accuracy[list(animals)].mean()
top_pairs = [set(p) for p in pairs.index[:5]]
assert all(p <= animals or p <= vehicles for p in top_pairs), pairs.head()
assert {"automobile", "truck"} in top_pairs and {"airplane", "ship"} in top_pairs

# %% [markdown]
# ## Confidently wrong
#
# Some errors come with high confidence: the probability of the (wrong)
# predicted class is close to 1. These are worth a look: they may show what the
# network really keys on, or a label that is itself debatable.

# %%
wrong = np.flatnonzero(predicted != true)
confidence = probabilities[wrong, predicted[wrong]]
most_confident = wrong[np.argsort(confidence)[::-1][:10]]

fig = plt.figure(figsize=(12, 5))
for k, i in enumerate(most_confident):
    ax = fig.add_subplot(2, 5, k + 1)
    ax.imshow(test_images[i])
    ax.set_title(
        f"{class_names[predicted[i]]} {probabilities[i, predicted[i]]:.2f}\n"
        f"(true: {class_names[true[i]]})",
        fontsize=9,
    )
    ax.axis("off")
save_fig(fig, "06-confidently-wrong")
plt.show()

# %% [markdown]
# Look at the colours and the backgrounds of these images before the objects:
# a network trained on only 5,000 small images leans on such broad cues (blue
# sky or sea, green grass) at least as much as on shapes. Which cue could have
# misled it in each case?
#
# ## Exercise: the weakest class
#
# 1. Which class has the lowest accuracy?
# 2. Plot five test images of that class that the model got wrong, titled with
#    the predicted class. Do they have something in common?

# %% tags=["nbval-ignore-output", "solution"]
weakest = class_accuracy.idxmin()
print(f"lowest accuracy: {weakest} ({class_accuracy[weakest]:.2f})")

weakest_index = class_names.index(weakest)
errors = np.flatnonzero((true == weakest_index) & (predicted != true))[:5]
fig = plt.figure(figsize=(10, 2.5))
for k, i in enumerate(errors):
    ax = fig.add_subplot(1, 5, k + 1)
    ax.imshow(test_images[i])
    ax.set_title(class_names[predicted[i]])
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Key points
#
# - The model outputs logits; `argmax` gives the predicted class and `softmax`
#   gives probabilities.
# - A confusion matrix shows which classes are mixed up; per-class accuracy
#   shows which classes are hard.
# - This network confuses similar animals (cats and dogs most) and similar
#   vehicles, rarely an animal with a vehicle.
# - Looking at confidently wrong images shows which cues the network relies on.
