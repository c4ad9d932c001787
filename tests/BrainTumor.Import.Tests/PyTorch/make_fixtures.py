"""Writes the PyTorch-exported fixtures of the import tests: small classifiers saved by torch.onnx.export
itself, and for each a reference computed by PyTorch autograd (logits and the raw Grad-CAM of every class).

Run once with Debian's PyTorch (apt-get install python3-torch; 1.13.1 on Debian 12):
    /usr/bin/python3 make_fixtures.py
The weights are random but seeded; the tests only need the exporter's graph and the autograd reference.
"""
import json
import torch
from torch import nn

SIDE = 32


class GapClassifier(nn.Module):
    """Conv-BN-ReLU-MaxPool-Conv-ReLU, then global average pooling, Flatten, Dropout, Linear (a ResNet-style head)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(16, 4))

    def forward(self, x):
        return self.head(self.features(x))


class FlattenClassifier(nn.Module):
    """A Keras-like stack: Conv-ReLU-MaxPool twice, then MaxPool, Flatten, Dense-ReLU, Dense, Softmax in the model."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 12, 3), nn.ReLU())
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12 * 6 * 6, 10), nn.ReLU(), nn.Linear(10, 4),
                                  nn.Softmax(dim=1))

    def forward(self, x):
        return self.head(self.features(x))


class ChannelsLastClassifier(nn.Module):
    """Laid out as tf2onnx writes a Keras model: NHWC input transposed for the convolutions, and the feature map
    transposed back to channels-last before Flatten and Dense, so the flattening order is Keras's."""

    def __init__(self):
        super().__init__()
        self.convolutions = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3), nn.ReLU())
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(13 * 13 * 8, 4))

    def features(self, image):
        return self.convolutions(image.permute(0, 3, 1, 2))

    def head(self, features):
        return self.dense(features.permute(0, 2, 3, 1))

    def forward(self, image):
        return self.head(self.features(image))


def reference(model, image):
    features = model.features(image).detach().requires_grad_(True)
    head = model.head[:-1] if isinstance(model.head, nn.Sequential) and isinstance(model.head[-1], nn.Softmax) else model.head
    logits = head(features)
    cams = []
    for target in range(logits.shape[1]):
        gradient, = torch.autograd.grad(logits[0, target], features, retain_graph=True)
        weights = gradient.mean(dim=(2, 3), keepdim=True)
        cams.append(torch.relu((weights * features).sum(dim=1))[0].flatten().tolist())
    return logits[0].tolist(), list(features.shape[2:]), cams


def write(name, model, seed, channels_last=False):
    torch.manual_seed(seed)
    for parameter in model.parameters():
        nn.init.uniform_(parameter, -0.5, 0.5)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    model.eval()
    image = torch.rand(1, SIDE, SIDE, 3) if channels_last else torch.rand(1, 3, SIDE, SIDE)
    torch.onnx.export(model, image, f"{name}.onnx", input_names=["image"], output_names=["scores"],
                      dynamic_axes={"image": {0: "batch"}, "scores": {0: "batch"}}, opset_version=17)
    logits, cam_shape, cams = reference(model, image)
    with open(f"{name}.json", "w") as file:
        json.dump({"torch": torch.__version__, "side": SIDE, "channelsLast": channels_last, "image": image.flatten().tolist(), "logits": logits,
                   "camShape": cam_shape, "cams": cams}, file)


write("gap-classifier", GapClassifier(), seed=7)
write("flatten-classifier", FlattenClassifier(), seed=11)
write("channels-last-classifier", ChannelsLastClassifier(), seed=13, channels_last=True)
