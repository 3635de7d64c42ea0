"""Distillation towards fixed teacher distributions: a softmax student, KLDivergence, Adagrad."""

import keras
import numpy as np
import tensorflow as tf


def build_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(7,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


def batches(epochs=4, steps=5, seed=0):
    """(inputs, the teacher's probabilities)."""
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        logits = rng.standard_normal((16, 4))
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        data.append((rng.standard_normal((16, 7)).astype(np.float32), probs.astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = keras.optimizers.Adagrad(learning_rate=0.05, initial_accumulator_value=0.1)
    kld = keras.losses.KLDivergence()
    losses = []
    for _epoch in range(epochs):
        for x, teacher in batches(epochs=1):
            x, teacher = tf.convert_to_tensor(x), tf.convert_to_tensor(teacher)
            with tf.GradientTape() as tape:
                student = model(x, training=True)
                loss = kld(teacher, student)
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss))
    return losses


if __name__ == "__main__":
    print(train(build_model()))
