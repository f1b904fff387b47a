"""The team's small convolutional network."""

import keras


def small_cnn(size=16, filters=8, classes=4):
    """Conv - pool - dense, uncompiled; the harness seeds Keras just before calling this."""
    return keras.Sequential([
        keras.Input(shape=(size, size, 1)),
        keras.layers.Conv2D(filters, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(classes, activation="softmax"),
    ])
