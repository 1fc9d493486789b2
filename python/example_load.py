"""Load an mlp model into PyTorch and print its accuracy on the MNIST t10k test split.

usage: python3 python/example_load.py MODEL.safetensors [MNIST_DIR]   (MNIST_DIR: data/mnist)
"""
import sys

import mlp_torch

model_path = sys.argv[1]
mnist_dir = sys.argv[2] if len(sys.argv) > 2 else "data/mnist"

model, meta = mlp_torch.load_model(model_path)  # an nn.Sequential of Linear layers
x, y = mlp_torch.load_mnist(mnist_dir, "t10k")  # x: [n, 784] in [0, 1], y: digits
p = mlp_torch.predict(model, meta["task"], x)

if meta["task"] == "binary":  # "is this digit the positive one?"
    correct = (p > 0.5) == (y == int(meta["positive"]))
elif meta["task"] == "multiclass":
    correct = p.argmax(dim=1) == y
else:
    sys.exit(f"{model_path}: task {meta['task']!r} has no accuracy")
print(f"{model_path} ({meta['layers']}, {meta['task']}): accuracy {correct.float().mean().item():.4f} "
      f"on {len(y)} t10k images")
