"""MNIST with a training loop written from scratch, after the Keras guide of that name.

keras.datasets.mnist.load_data(), reshaped to vectors, a tf.data pipeline of (x, y) batches, a
tf.GradientTape step, keras.metrics.SparseCategoricalAccuracy with update_state / result /
reset_state, an evaluation loop with training=False, save_weights / load_weights.
"""

import argparse
import logging

import keras
import numpy as np
import tensorflow as tf

logger = logging.getLogger("custom_loop")


def build_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--resume", default="")
    parser.add_argument("--save-model", default="custom_loop.weights.h5")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = np.reshape(x_train, (-1, 784)).astype("float32") / 255.0
    x_test = np.reshape(x_test, (-1, 784)).astype("float32") / 255.0
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(args.batch_size)
    val_dataset = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(args.batch_size)

    model = build_model()
    if args.resume:
        model.load_weights(args.resume)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    val_acc_metric = keras.metrics.SparseCategoricalAccuracy()

    for epoch in range(args.epochs):
        losses = []
        for x_batch_train, y_batch_train in train_dataset:
            with tf.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            train_acc_metric.update_state(y_batch_train, logits)
            losses.append(float(loss_value))
        logger.info("epoch %d train loss %.6f", epoch + 1, sum(losses) / len(losses))
        logger.info("training accuracy %.4f", float(train_acc_metric.result()))
        train_acc_metric.reset_state()

    val_losses = []
    for x_batch_val, y_batch_val in val_dataset:
        val_logits = model(x_batch_val, training=False)
        val_losses.append(float(loss_fn(y_batch_val, val_logits)) * len(y_batch_val))
        val_acc_metric.update_state(y_batch_val, val_logits)
    logger.info("test loss %.6f accuracy %.4f", sum(val_losses) / len(x_test), float(val_acc_metric.result()))

    model.save_weights(args.save_model)
    reloaded = build_model()
    reloaded.load_weights(args.save_model)
    difference = float(np.max(np.abs(model(x_test, training=False) - reloaded(x_test, training=False))))
    logger.info("reloaded: max prediction difference %.3g", difference)


if __name__ == "__main__":
    main()
