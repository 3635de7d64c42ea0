"""An MNIST-like convolutional classifier (8x8x1 images, channels last, 4 classes), after the
Keras guide "writing a training loop from scratch": a tf.function train_step, SGD with Nesterov
momentum on an ExponentialDecay schedule, sparse categorical cross-entropy from logits, an
evaluation with training=False."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(4),
        ]
    )


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = [
        (rng.standard_normal((8, 8, 8, 1)).astype(np.float32), rng.integers(0, 4, size=(8,)).astype(np.int64))
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5, staircase=True)
    optimizer = keras.optimizers.SGD(learning_rate=lr_schedule, momentum=0.9, nesterov=True)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss_value

    losses = []
    for _epoch in range(epochs):
        for x_batch, y_batch in batches(epochs=1):
            loss_value = train_step(tf.convert_to_tensor(x_batch), tf.convert_to_tensor(y_batch))
            losses.append(float(loss_value))
        correct = 0
        for x_val, y_val in batches(epochs=1, steps=2, seed=1):
            val_logits = model(tf.convert_to_tensor(x_val), training=False)
            correct += int(np.sum(np.argmax(val_logits, axis=1) == y_val))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
