"""Fashion-MNIST with a tf.data input pipeline.

keras.datasets.fashion_mnist.load_data(), tf.data.Dataset.from_tensor_slices(...).map(normalize)
.batch(...).prefetch(AUTOTUNE), a Sequential MLP, fit on the dataset with validation_data another
dataset and a CSVLogger, evaluate, save_weights / load_weights.
"""

import argparse
import logging

import keras
import numpy as np
import tensorflow as tf


def normalize(image, label):
    return tf.cast(image, tf.float32) / 255.0, label


def make_dataset(images, labels, batch_size):
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.map(normalize, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def build_model():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--resume", default="")
    parser.add_argument("--save-model", default="fashion.weights.h5")
    parser.add_argument("--log-csv", default="training.csv")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    (train_images, train_labels), (test_images, test_labels) = keras.datasets.fashion_mnist.load_data()
    train_ds = make_dataset(train_images, train_labels, args.batch_size)
    test_ds = make_dataset(test_images, test_labels, args.batch_size)

    model = build_model()
    if args.resume:
        model.load_weights(args.resume)
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        train_ds,
        epochs=args.epochs,
        validation_data=test_ds,
        callbacks=[keras.callbacks.CSVLogger(args.log_csv)],
        verbose=0,
    )
    for epoch, loss in enumerate(history.history["loss"], start=1):
        logging.info("epoch %d train loss %.6f", epoch, loss)
    test_loss, test_acc = model.evaluate(test_ds, verbose=0)
    logging.info("test loss %.6f accuracy %.4f", test_loss, test_acc)

    model.save_weights(args.save_model)
    restored = build_model()
    restored.load_weights(args.save_model)
    difference = np.max(np.abs(model.predict(test_ds, verbose=0) - restored.predict(test_ds, verbose=0)))
    logging.info("reloaded: max prediction difference %.3g", difference)


if __name__ == "__main__":
    main()
