"""CIFAR-10 classifier trained with fit and the usual callbacks.

keras.datasets.cifar10.load_data(), integer labels with sparse categorical cross-entropy, a
functional model with BatchNormalization, fit with validation_data and ModelCheckpoint
(best weights only), EarlyStopping and ReduceLROnPlateau, evaluate, and the best checkpoint
reloaded into a new model. ``--train-samples N`` trains on the first N images, for a quick run.
"""

import argparse
import logging

import keras
import numpy as np


def build_model():
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs, outputs, name="cifar10_cnn")


def main():
    parser = argparse.ArgumentParser(description="CIFAR-10 with callbacks")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--resume", default="")
    parser.add_argument("--save-model", default="cifar10_best.weights.h5")
    parser.add_argument("--train-samples", type=int, default=None, help="train on the first N images only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    if args.train_samples:
        x_train, y_train = x_train[: args.train_samples], y_train[: args.train_samples]
    logging.info("%d train, %d test images", len(x_train), len(x_test))

    model = build_model()
    if args.resume:
        model.load_weights(args.resume)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            args.save_model, monitor="val_loss", save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=3),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
    ]
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    for epoch, loss in enumerate(history.history["loss"], start=1):
        logging.info("epoch %d train loss %.6f", epoch, loss)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    logging.info("test loss %.6f accuracy %.4f", test_loss, test_acc)

    best = build_model()
    best.load_weights(args.save_model)
    model.load_weights(args.save_model)
    difference = np.max(np.abs(model.predict(x_test, verbose=0) - best.predict(x_test, verbose=0)))
    logging.info("reloaded: max prediction difference %.3g", difference)


if __name__ == "__main__":
    main()
