"""A sequence classifier: an LSTM over (batch, time, features), SGD with momentum, sparse
categorical cross-entropy from logits, a tf.function train_step and a training=False
evaluation."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6, 5))
    x = keras.layers.LSTM(12)(inputs)
    outputs = keras.layers.Dense(3)(x)
    return keras.Model(inputs, outputs)


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = [
        (rng.standard_normal((8, 6, 5)).astype(np.float32), rng.integers(0, 3, size=(8,)).astype(np.int64))
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        return loss

    losses = []
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            losses.append(float(train_step(tf.convert_to_tensor(x), tf.convert_to_tensor(y))))
        val_x, val_y = next(batches(epochs=1, steps=1, seed=1))
        val_loss = loss_fn(tf.convert_to_tensor(val_y), model(tf.convert_to_tensor(val_x), training=False))
        float(val_loss)
    return losses


if __name__ == "__main__":
    print(train(build_model()))
