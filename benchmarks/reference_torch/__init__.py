"""The Keras samples (samples/tf/) written by hand as plain PyTorch nn.Modules, for
benchmarks/torch_speed.py: the same layers and sizes as the Keras source, every size given (no
Lazy module), channels first inside, and the translation's interface: channels-last images in
(N, H, W, C) and out, token ids (N, L). Each file keeps the sample's builder names and parameters."""
