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
# # 0. Checking your setup
#
# **Questions**
#
# - Is this computer ready for the lesson?
# - How long will the longest training cell take here?
#
# **Objectives**
#
# - Check the Python version and the versions of the lesson's packages.
# - Find out whether CIFAR-10 is already here or will be downloaded.
# - See whether TensorFlow will use a GPU or the CPU.
# - Estimate the running time of the lesson's longest training cell.

# %% [markdown]
# ## How this notebook works
#
# Run the cells from top to bottom. Each check prints one line that starts with
# `OK` or `FAIL`; a `FAIL` line says what to do about it. Fix what it asks,
# restart the kernel and run the notebook again. The checks install nothing,
# download nothing and write no files, and the whole notebook runs in well
# under a minute.
#
# The same checks run in a terminal with `python -m cnn_lesson.setup_check`
# (or `make check-setup`), from the project's folder.

# %%
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

from cnn_lesson import setup_check

# %% [markdown]
# ## Python
#
# The lesson needs Python 3.11 or newer; the conda environment installs 3.11.

# %% tags=["nbval-ignore-output"]
python_check = setup_check.check_python()
print(python_check.line())

# %% [markdown]
# ## Package versions
#
# `requirements.txt` pins every package the lesson uses to one version, so that
# your results match the stored outputs of the notebooks. Each pinned package
# is compared with the version installed in this environment. A line that
# applies only to another operating system (for example the TensorFlow build
# for macOS) is skipped.

# %% tags=["nbval-ignore-output"]
package_checks = setup_check.check_packages()
for check in package_checks:
    print(check.line())

# %% [markdown]
# The notebooks import `cnn_lesson`, the lesson's small helper package, from
# any folder. That works once the package is installed in the environment from
# the project's folder, which the set-up does.

# %%
project_check = setup_check.check_project()
print(project_check.line())

# %% [markdown]
# ## The data set
#
# The first notebook loads CIFAR-10. If it is not on this computer yet, the
# notebook downloads it (163 MB) once; afterwards every notebook loads it from
# the project's `data/` folder. This check only looks: it downloads nothing.

# %% tags=["nbval-ignore-output"]
data_check = setup_check.check_data()
print(data_check.line())

# %% [markdown]
# ## TensorFlow and Keras
#
# The lesson uses Keras on TensorFlow. Keras can also run on other libraries;
# the check makes sure it has not been set to one of them.

# %%
keras_check = setup_check.check_backend()
print(keras_check.line())

# %% [markdown]
# A GPU makes training faster, but the lesson does not need one: the networks
# are small and train on 5,000 images, which takes a minute or two on a laptop's
# CPU.

# %% tags=["nbval-ignore-output"]
gpu_check = setup_check.check_gpu()
print(gpu_check.line())

# %% [markdown]
# ## How fast is this computer?
#
# The longest training cell of the lesson, in notebook 5, trains a small
# network for 20 epochs: each epoch is 157 steps of 32 images (5,000 images in
# all) followed by a validation pass over 10,000 images. The next cell trains
# the same network for a few short epochs on random pixels, which take as long
# to process as real ones, and predicts the time of that cell from the time of
# one step. It takes about ten seconds.
#
# Timings jump around when other programs are busy, so take the prediction as a
# rough guide: the real cell may well take half as long again.

# %% tags=["nbval-ignore-output"]
speed_check = setup_check.check_speed()
print(speed_check.line())

# %% [markdown]
# ## Summary

# %%
all_checks = [
    python_check,
    *package_checks,
    project_check,
    data_check,
    keras_check,
    gpu_check,
    speed_check,
]
failed = setup_check.failures(all_checks)
print(f"{len(all_checks) - len(failed)} of {len(all_checks)} checks passed")

# %% [markdown]
# If a check failed, this cell stops with an error and lists the checks that
# need attention; otherwise you are ready for the lesson.

# %%
assert not failed, "\n".join(check.line() for check in failed)

# %% [markdown]
# ## Key points
#
# - Run this check before the lesson, at home, where there is time to fix
#   things.
# - The lesson's packages are pinned to exact versions; a version that differs
#   can change results or break a cell.
# - CIFAR-10 is downloaded once (163 MB) and kept in the project's `data/`
#   folder.
# - No GPU is needed; the timing run tells you how long training takes on your
#   computer.
