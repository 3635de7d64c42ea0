"""A max-margin classifier: Hinge loss on targets -1 / +1, Lion on a CosineDecayRestarts
schedule."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((5, 1))
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 5))
        data.append((x.astype(np.float32), np.where(x @ w > 0, 1.0, -1.0).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    schedule = keras.optimizers.schedules.CosineDecayRestarts(3e-3, first_decay_steps=5, t_mul=2.0, m_mul=0.8)
    optimizer = keras.optimizers.Lion(learning_rate=schedule, beta_1=0.9, beta_2=0.99)
    hinge = keras.losses.Hinge()
    losses = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
            with tf.GradientTape() as tape:
                loss = hinge(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
