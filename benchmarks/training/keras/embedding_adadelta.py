"""Regressing unit directions: an embedding network trained with CosineSimilarity (as a loss,
minimised towards -1) and Adadelta."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6,))
    x = keras.layers.Dense(12, activation="relu")(inputs)
    outputs = keras.layers.Dense(4)(x)
    return keras.Model(inputs, outputs)


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 4))
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 6))
        data.append((x.astype(np.float32), np.tanh(x @ w).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = keras.optimizers.Adadelta(learning_rate=1.0, rho=0.9)
    loss_fn = keras.losses.CosineSimilarity(axis=-1)
    losses = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
