"""A GAN on 4-dimensional points, DCGAN-style step: two Adam optimizers (betas 0.5, 0.999),
BCELoss on sigmoid outputs, the discriminator's real and fake losses accumulated by two
backward() calls before its step. Each step reports errD + errG."""

import numpy as np
import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, nz=2, features=4):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(nz, 16), nn.LeakyReLU(0.2), nn.Linear(16, features))

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, features=4):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(features, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())

    def forward(self, x):
        return self.main(x)


class GAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = Generator()
        self.discriminator = Discriminator()

    def forward(self, z):
        return self.discriminator(self.generator(z))


def build_model():
    torch.manual_seed(0)
    return GAN()


def batches(epochs=4, steps=5, seed=0):
    """(generator noise, real points)."""
    rng = np.random.default_rng(seed)
    data = [
        (
            rng.standard_normal((16, 2)).astype(np.float32),
            (rng.standard_normal((16, 4)) * 0.5 + 1.0).astype(np.float32),
        )
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    netG, netD = model.generator, model.discriminator
    criterion = nn.BCELoss()
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    losses = []
    for _epoch in range(epochs):
        for noise, real in batches(epochs=1):
            noise, real = torch.from_numpy(noise), torch.from_numpy(real)
            real_label = torch.ones(real.shape[0], 1)
            fake_label = torch.zeros(real.shape[0], 1)
            # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            errD_real = criterion(netD(real), real_label)
            errD_real.backward()
            fake = netG(noise)
            errD_fake = criterion(netD(fake.detach()), fake_label)
            errD_fake.backward()
            optimizerD.step()
            # (2) update G: maximize log(D(G(z)))
            netG.zero_grad()
            errG = criterion(netD(fake), real_label)
            errG.backward()
            optimizerG.step()
            losses.append(errD_real.item() + errD_fake.item() + errG.item())
    return losses


if __name__ == "__main__":
    print(train(build_model()))
