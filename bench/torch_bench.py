#!/usr/bin/python3
"""torch_bench.py — the peer figures for bench/bench.c: the same two networks
in PyTorch on the CPU, same batch, same flop counts, same output lines.

    /usr/bin/python3 bench/torch_bench.py THREADS [PART...]

THREADS is glassbox's thread count (bench/bench.c prints it), passed to
torch.set_num_threads so both run on the same cores. PARTs (mlp, cnn, train)
pick what runs, as for bench.c; all by default.

    mlp: Linear 784->512, ReLU, Linear 512->512, ReLU, Linear 512->10, batch 10000
    cnn: Conv 1->16 5x5, ReLU, MaxPool 2, Conv 16->32 5x5, ReLU, MaxPool 2,
         Flatten, Linear 512->10, 28x28 input, batch 256

Forward runs under torch.inference_mode; forward+backward runs the forward
with gradients on, then backward of (y * r).sum() to the input and every
parameter (gradients set to None first, as a training loop's zero_grad does).
Each figure is the median of several timed repeats after warm-up runs.
Prints  bench torch_NAME gflops=G ms=T  lines like bench.c.

    train: one MNIST epoch (data/mnist/train.npz, read with numpy) of
           Sequential(Linear 784->256, ReLU, 3 x (Linear 256->256, ReLU),
           Linear 256->10), batch 128, Adam lr 1e-3, CrossEntropyLoss: a fresh
           permutation per epoch, each batch sliced out of the in-memory
           tensors (no DataLoader), zero_grad / forward / loss / backward /
           step. One warm-up epoch, then the test accuracy (test.npz), then
           TRAIN_EPOCHS timed epochs; prints
           bench torch_train_mnist samples_s=S ms=T test_acc=A  like bench.c.
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

MAX_REPEATS = 15
TRAIN_EPOCHS = 7  # timed epochs after one warm-up epoch, as bench.c
TRAIN_BATCH = 128
MNIST_TRAIN = "data/mnist/train.npz"
MNIST_TEST = "data/mnist/test.npz"


def median_time(fn, warmup, min_repeats, budget_s):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < MAX_REPEATS:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_repeats and time.perf_counter() - start > budget_s:
            break
    return statistics.median(times)


def report(name, what, flops, seconds):
    gflops = flops / seconds * 1e-9
    print(f"  {what:<34} {seconds * 1e3:9.2f} ms  {gflops:8.1f} GFLOP/s")
    print(f"bench {name} gflops={gflops:.3f} ms={seconds * 1e3:.4f}", flush=True)


def bench_net(name, model, x, fwd_flops):
    model.eval()
    r = torch.rand(model(x).shape) * 2 - 1

    def forward():
        with torch.inference_mode():
            model(x)

    xg = x.clone().requires_grad_(True)

    def train():
        model.zero_grad(set_to_none=True)
        xg.grad = None
        (model(xg) * r).sum().backward()

    report(f"torch_{name}_forward", "forward", fwd_flops, median_time(forward, 2, 5, 4.0))
    report(f"torch_{name}_train", "forward+backward", 3 * fwd_flops, median_time(train, 1, 5, 6.0))


def load_mnist(path):
    import numpy as np

    with np.load(path) as d:
        x = torch.from_numpy(np.ascontiguousarray(d["x"], dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(d["y"], dtype=np.int64))
    return x.reshape(x.shape[0], -1), y


def train_epoch(model, opt, loss_fn, x, y, batch):
    model.train()
    n = x.shape[0]
    perm = torch.randperm(n)
    for first in range(0, n, batch):
        idx = perm[first:first + batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()


def accuracy(model, x, y):
    model.eval()
    with torch.inference_mode():
        return (model(x).argmax(1) == y).double().mean().item()


def bench_train_mnist():
    print(f"\ntorch train: MNIST MLP 784-256-256-256-256-10, batch {TRAIN_BATCH}, Adam lr 1e-3, "
          f"CrossEntropyLoss, {MNIST_TRAIN}; median of {TRAIN_EPOCHS} epochs after a warm-up epoch")
    if not os.path.exists(MNIST_TRAIN):
        print(f"  skipped: {MNIST_TRAIN} not found (run `make data` first)")
        print("bench torch_train_mnist skipped", flush=True)
        return
    x, y = load_mnist(MNIST_TRAIN)
    widths = [784, 256, 256, 256, 256, 10]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    t0 = time.perf_counter()
    train_epoch(model, opt, loss_fn, x, y, TRAIN_BATCH)
    warm = time.perf_counter() - t0
    acc = None
    line = f"  warm-up epoch {warm:.2f} s"
    if os.path.exists(MNIST_TEST):
        acc = accuracy(model, *load_mnist(MNIST_TEST))
        line += f", test accuracy after it {100 * acc:.2f}%"
    print(line)
    times = []
    for _ in range(TRAIN_EPOCHS):
        t0 = time.perf_counter()
        train_epoch(model, opt, loss_fn, x, y, TRAIN_BATCH)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    n = x.shape[0]
    print("  timed epochs (s): " + " ".join(f"{t:.3f}" for t in times))
    print(f"  {'epoch (median)':<34} {sec * 1e3:9.2f} ms  {n / sec:8.0f} samples/s"
          f"  (fastest epoch {min(times) * 1e3:.2f} ms)")
    extra = f" test_acc={acc:.4f}" if acc is not None else ""
    print(f"bench torch_train_mnist samples_s={n / sec:.1f} ms={sec * 1e3:.4f} min_ms={min(times) * 1e3:.4f}{extra}",
          flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: torch_bench.py THREADS [mlp|cnn|train]...")
    threads = int(sys.argv[1])
    parts = sys.argv[2:] or ["mlp", "cnn", "train"]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__} CPU benchmark, {torch.get_num_threads()} threads")
    print(f"bench torch_threads n={torch.get_num_threads()}")

    b_mlp, b_cnn = 10000, 256
    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    cnn = nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 12, 12)
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 4, 4)
        nn.Flatten(), nn.Linear(512, 10),
    )
    # Useful flops, counted as bench.c counts them.
    mlp_flops = 2.0 * b_mlp * (784 * 512 + 512 * 512 + 512 * 10)
    cnn_flops = 2.0 * b_cnn * (16 * 24 * 24 * 25 + 32 * 8 * 8 * 16 * 25 + 512 * 10)

    if "mlp" in parts:
        print(f"\ntorch mlp 784-512-512-10, batch {b_mlp}")
        bench_net("mlp", mlp, torch.rand(b_mlp, 784) * 2 - 1, mlp_flops)
    if "cnn" in parts:
        print(f"\ntorch cnn conv5x5(16)-relu-pool-conv5x5(32)-relu-pool-linear(10), 28x28, batch {b_cnn}")
        bench_net("cnn", cnn, torch.rand(b_cnn, 1, 28, 28) * 2 - 1, cnn_flops)
    if "train" in parts:
        bench_train_mnist()


if __name__ == "__main__":
    main()
