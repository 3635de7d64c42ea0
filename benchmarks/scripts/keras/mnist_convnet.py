"""MNIST convnet, after the keras.io example "Simple MNIST convnet".

keras.datasets.mnist.load_data(), scaled to [0, 1] with a channel axis, to_categorical labels, a
Sequential convnet, compile + fit with validation_data, evaluate, save_weights and a reload into
a new model with load_weights that must predict the same.
"""

import argparse
import logging

import keras
import numpy as np
from keras import layers

num_classes = 10
input_shape = (28, 28, 1)


def build_model():
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--resume", default="")
    parser.add_argument("--save-model", default="mnist_convnet.weights.h5")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    x_train = np.expand_dims(x_train, -1)
    x_test = np.expand_dims(x_test, -1)
    logging.info("x_train shape: %s, %d train samples", x_train.shape, x_train.shape[0])
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = build_model()
    if args.resume:
        model.load_weights(args.resume)
    model.compile(
        loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(0.05, momentum=0.9), metrics=["accuracy"]
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        shuffle=False,
        verbose=0,
    )
    for epoch, loss in enumerate(history.history["loss"], start=1):
        logging.info("epoch %d train loss %.6f", epoch, loss)

    score = model.evaluate(x_test, y_test, verbose=0)
    logging.info("test loss %.6f accuracy %.4f", score[0], score[1])

    model.save_weights(args.save_model)
    reloaded = build_model()
    reloaded.load_weights(args.save_model)
    difference = np.max(np.abs(model.predict(x_test, verbose=0) - reloaded.predict(x_test, verbose=0)))
    logging.info("reloaded: max prediction difference %.3g", difference)


if __name__ == "__main__":
    main()
