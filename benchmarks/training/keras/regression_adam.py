"""A small regression MLP: Adam on a PiecewiseConstantDecay schedule, MeanSquaredError, a
train_step function."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6,))
    x = keras.layers.Dense(16, activation="tanh")(inputs)
    x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs)


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 1)).astype(np.float32)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 6)).astype(np.float32)
        data.append((x, (x @ w + 0.1 * rng.standard_normal((16, 1))).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[5, 12], values=[1e-2, 5e-3, 1e-3])
    optimizer = keras.optimizers.Adam(learning_rate=schedule, beta_2=0.99)
    mse = keras.losses.MeanSquaredError()

    def train_step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            loss = mse(y, pred)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            losses.append(float(train_step(tf.convert_to_tensor(x), tf.convert_to_tensor(y))))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
