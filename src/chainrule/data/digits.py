"""The 8×8 handwritten digits (UCI optical digits, as scikit-learn ships them), read from the package.

>>> from chainrule import data
>>> digits = data.load_digits()
>>> digits
Dataset(1797 samples, images of 1×8×8, 10 classes (0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
>>> digits.features.shape, float(digits.features.max()), digits.labels[:5]
((1797, 1, 8, 8), 16.0, array([0, 1, 2, 3, 4]))
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..errors import check_flag
from . import Dataset  # defined before chainrule.data imports this module

SIDE = 8  # pixels per row and column
LEVELS = 16  # each pixel counts the dark dots of a 4×4 block: 0 to 16


def load_digits(flatten: bool = False) -> Dataset:
    """1,797 images of the digits 0–9 (about 180 of each) with their labels.

    ``features`` are float64 pixel values from 0 (white) to 16 (black), one image per row:
    shape (1797, 1, 8, 8), PyTorch's (N, C, H, W) with one channel, for a convolutional
    network, or (1797, 64) row by row with ``flatten=True``, for a multilayer perceptron.
    ``labels`` are int64 digits. Divide the features by 16 for values in [0, 1]. The data's
    source and license (CC BY 4.0) are in ``digits-LICENSE.txt`` beside it.
    """
    flatten = check_flag("load_digits", "flatten", flatten)
    with resources.files(__package__).joinpath("digits.npz").open("rb") as handle, np.load(handle) as archive:
        images, labels = archive["images"], archive["labels"]
    features = images.astype(np.float64).reshape(
        (len(images), SIDE * SIDE) if flatten else (len(images), 1, SIDE, SIDE)
    )
    names = tuple(f"pixel_{row}_{column}" for row in range(SIDE) for column in range(SIDE))
    return Dataset(features, labels.astype(np.int64), names, tuple(str(digit) for digit in range(10)))
