"""A softmax classifier on one-hot targets: Nadam on an InverseTimeDecay schedule,
CategoricalCrossentropy on probabilities, gradients clipped with tf.clip_by_global_norm."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        labels = rng.integers(0, 4, size=(16,))
        data.append((rng.standard_normal((16, 8)).astype(np.float32), np.eye(4, dtype=np.float32)[labels]))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    schedule = keras.optimizers.schedules.InverseTimeDecay(5e-3, decay_steps=5, decay_rate=0.5)
    optimizer = keras.optimizers.Nadam(learning_rate=schedule)
    loss_fn = keras.losses.CategoricalCrossentropy()
    losses = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                loss = loss_fn(y, probs)
            grads = tape.gradient(loss, model.trainable_weights)
            grads, _ = tf.clip_by_global_norm(grads, 1.0)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
