"""A binary classifier with BatchNormalization: Adamax on a PolynomialDecay schedule,
BinaryCrossentropy from logits, evaluation with training=False."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(10,)),
            keras.layers.Dense(16, use_bias=False),  # the BatchNormalization that follows has the offset
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Dense(1),
        ]
    )


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 10)).astype(np.float32)
        data.append((x, (x[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    schedule = keras.optimizers.schedules.PolynomialDecay(1e-2, decay_steps=20, end_learning_rate=1e-3, power=2.0)
    optimizer = keras.optimizers.Adamax(learning_rate=schedule)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    losses = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss = bce(y, logits)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            losses.append(float(loss))
        for x_val, y_val in batches(epochs=1, steps=2, seed=1):
            val_loss = bce(tf.convert_to_tensor(y_val), model(tf.convert_to_tensor(x_val), training=False))
            float(val_loss)
    return losses


if __name__ == "__main__":
    print(train(build_model()))
