"""Training with Keras: data sources, models, optimizers, the run itself.

The only layer that imports TensorFlow or Keras, and only inside functions."""
