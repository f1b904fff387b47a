"""The team's data loader: noisy images of bars in four orientations, made from a seed."""

import numpy as np


def bars(size=16, train=2000, test=500, noise=0.6, seed=0):
    """((x_train, y_train), (x_test, y_test)) like keras.datasets: images (n, size, size, 1), labels 0-3."""
    rng = np.random.default_rng(seed)

    def make(count):
        labels = rng.integers(0, 4, count)
        images = rng.normal(0.0, noise, (count, size, size)).astype(np.float32)
        offsets = rng.integers(2, size - 2, count)
        for i, (label, at) in enumerate(zip(labels, offsets)):
            if label == 0:
                images[i, at, :] += 1.0  # horizontal
            elif label == 1:
                images[i, :, at] += 1.0  # vertical
            elif label == 2:
                images[i] += np.eye(size, k=at - size // 2, dtype=np.float32)  # diagonal
            else:
                images[i] += np.fliplr(np.eye(size, k=at - size // 2, dtype=np.float32))  # anti-diagonal
        return images[..., None], labels.astype(np.uint8)

    return make(train), make(test)
