"""A dense autoencoder (functional API): AdamW with weight decay on a CosineDecay schedule,
MeanAbsoluteError on the reconstruction."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(12,))
    code = keras.layers.Dense(8, activation="relu")(inputs)
    code = keras.layers.Dense(3)(code)
    x = keras.layers.Dense(8, activation="relu")(code)
    outputs = keras.layers.Dense(12, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.uniform(0.0, 1.0, size=(16, 12)).astype(np.float32)
        data.append((x, x.copy()))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    schedule = keras.optimizers.schedules.CosineDecay(2e-2, decay_steps=20, alpha=0.1)
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=0.01)
    loss_fn = keras.losses.MeanAbsoluteError()
    losses = []
    for _epoch in range(epochs):
        for x, target in batches(epochs=1):
            x, target = tf.convert_to_tensor(x), tf.convert_to_tensor(target)
            with tf.GradientTape() as tape:
                recon = model(x, training=True)
                loss = loss_fn(target, recon)
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
