"""Reference timing: the same Gaussian VAE step in PyTorch, to put `vae bench` numbers in context.

Not part of the product or the tests (PyTorch is not a dependency). Model, objective and optimiser
match src/model.rs and src/loss.rs: encoder 784 -> hidden (ReLU) -> 2*latent, decoder mirrored with
a sigmoid mean, one learned log sigma, nELBO per image with one reparameterised sample, Adam.

    python3 tools/torch_reference.py --device cuda --arch C --batch 64 --steps 300
"""
import argparse
import math
import time

import torch

PRESETS = {"A": [], "B": [32], "C": [64], "D": [60, 32], "E": [60, 32, 20]}


def mlp(dims):
    layers = []
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class Vae(torch.nn.Module):
    def __init__(self, hidden, latent=12):
        super().__init__()
        self.enc = mlp([784, *hidden, 2 * latent])
        self.dec = mlp([latent, *reversed(hidden), 784])
        self.log_sigma = torch.nn.Parameter(torch.zeros(1))

    def nelbo(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        mean = torch.sigmoid(self.dec(z))
        rec = ((x - mean) ** 2).sum(1) * (0.5 * torch.exp(-2 * self.log_sigma)) \
            + (self.log_sigma + 0.5 * math.log(2 * math.pi)) * 784
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)
        return (rec + kl).mean()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--arch", default="C")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args()
    dev = torch.device(a.device)
    model = Vae(PRESETS[a.arch]).to(dev)
    params = sum(t.numel() for t in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.rand(2000, 784, device=dev)

    def step():
        idx = torch.randint(0, 2000, (a.batch,), device=dev)
        loss = model.nelbo(data[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(10):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    loss.item()  # wait for the device
    ms = (time.perf_counter() - t) * 1000 / a.steps
    print(f"torch {torch.__version__} {a.arch} ({params} params) on {a.device}: "
          f"{ms:.2f} ms/step ({a.batch * 1000 / ms:.0f} images/s), batch {a.batch}")


if __name__ == "__main__":
    main()
