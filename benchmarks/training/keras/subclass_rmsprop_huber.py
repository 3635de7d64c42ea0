"""A subclassed keras.Model (built by a call on a sample batch): RMSprop (centered, momentum),
Huber loss, a train_step function."""

import keras
import numpy as np
import tensorflow as tf


class Regressor(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(16, activation="relu")
        self.out = keras.layers.Dense(2)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


def build_model():
    keras.utils.set_random_seed(0)
    model = Regressor()
    model(keras.ops.zeros((1, 4)))
    return model


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 4)).astype(np.float32)
        y = np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 2]) + x[:, 3]], axis=1).astype(np.float32)
        data.append((x, y))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = keras.optimizers.RMSprop(learning_rate=5e-3, rho=0.9, momentum=0.5, centered=True)
    huber = keras.losses.Huber(delta=0.5)

    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = huber(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return float(loss)

    history = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            history.append(train_step(tf.constant(x), tf.constant(y)))
    return history


if __name__ == "__main__":
    print(train(build_model()))
