# SPDX-License-Identifier: AGPL-3.0-or-later
"""The watermark network and what it is trained on.

A small fully convolutional network that scores every 8 x 8 px cell of a picture squeezed to
672 x 672 for a watermark's ink. It is trained on crops of a set `loupe datasets watermarks`
writes (views of pictures, each clean and marked, with the mark's ink as a mask): a cell is a
positive when at least 4 % of it is ink, a negative when none of it is, and left out in between.
"""
import csv
import os

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

SIDE = 672
"""The picture is squeezed to SIDE x SIDE, as a Loupe model card with `resize: stretch` would feed it."""
CROP = 128
CELL = 8
POSITIVE_INK = 0.04


def block(cin, cout, stride=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class WatermarkNet(nn.Module):
    """RGB in 0..1 (N, 3, H, W) to a logit per 8 x 8 cell (N, 1, H/8, W/8)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            block(3, 16), block(16, 24, 2), block(24, 32, 2), block(32, 48, 2),
            block(48, 48, 1, 2), block(48, 48, 1, 4),
        )
        self.head = nn.Conv2d(48, 1, 1)

    def forward(self, x):
        return self.head(self.body(x))


class Features(nn.Module):
    """The ONNX export's `features` output (an `image-embedding` card's vector), from the cells' logits divided by 8:
    [1, the top cell, the mean of the top 5, of the top 20, the cell at the top 5 %].

    Logits, not probabilities: a picture's own strokes already put its top cells near 1, where
    probabilities no longer tell a mark from them. The last value is the picture's own level, which
    a head can weigh the top cells against. The leading 1 keeps their size through the
    embedder's L2 normalisation.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        cells = self.net(x).flatten(1) / 8
        top = torch.topk(cells, cells.shape[1] // 20, dim=1).values
        one = torch.ones_like(top[:, :1])
        return torch.cat([one, top[:, :1], top[:, :5].mean(1, keepdim=True), top[:, :20].mean(1, keepdim=True), top[:, -1:]], 1)


def load_views(folder, groups=None):
    """Every view of the set (of the given pictures only, when named): (pixels, ink mask or None, picture)."""
    views = []
    with open(os.path.join(folder, 'labels.csv'), newline='') as f:
        for row in csv.DictReader(f):
            if groups is not None and row['group'] not in groups:
                continue
            image = Image.open(os.path.join(folder, row['file'])).convert('RGB').resize((SIDE, SIDE), Image.BILINEAR)
            mask = None
            if row['mask']:
                ink = Image.open(os.path.join(folder, row['mask'])).convert('L').resize((SIDE, SIDE), Image.BILINEAR)
                mask = np.asarray(ink) > 64
            views.append((np.asarray(image), mask, row['group']))
    return views


def cell_targets(mask):
    """1 where a cell is at least POSITIVE_INK ink, 0 where it has none, -1 (left out) in between."""
    n = CROP // CELL
    ink = mask.reshape(n, CELL, n, CELL).mean(axis=(1, 3))
    target = np.full(ink.shape, -1, np.float32)
    target[ink == 0] = 0
    target[ink >= POSITIVE_INK] = 1
    return target


def crops(views, n, rng, augment=False):
    """n random CROP x CROP crops of the views; of a marked view, seven in ten are placed over its ink.

    With augment, each crop is also cut at 0.75 to 1.5 times the size and scaled back (marks and
    pictures at other scales), turned by a multiple of 90 degrees and mirrored half the time, and
    its colour channels shuffled or greyed: the few pictures the set has, seen as many more.
    """
    xs = np.zeros((n, CROP, CROP, 3), np.uint8)
    ys = np.zeros((n, CROP // CELL, CROP // CELL), np.float32)
    for k in range(n):
        image, mask, _ = views[rng.randrange(len(views))]
        side = rng.randrange(96, 193) if augment else CROP
        if mask is not None and rng.random() < 0.7 and mask.any():
            yy, xx = np.nonzero(mask)
            j = rng.randrange(len(yy))
            y0 = min(max(0, yy[j] - rng.randrange(side)), SIDE - side)
            x0 = min(max(0, xx[j] - rng.randrange(side)), SIDE - side)
        else:
            y0, x0 = rng.randrange(SIDE - side + 1), rng.randrange(SIDE - side + 1)
        pixels = image[y0:y0 + side, x0:x0 + side]
        ink = None if mask is None else mask[y0:y0 + side, x0:x0 + side]
        if augment:
            pixels, ink = reshape(pixels, ink, rng)
        xs[k] = pixels
        if ink is not None:
            ys[k] = cell_targets(ink)
    return torch.from_numpy(xs).permute(0, 3, 1, 2).float().div(255), torch.from_numpy(ys)


def reshape(pixels, ink, rng):
    if pixels.shape[0] != CROP:
        pixels = np.asarray(Image.fromarray(pixels).resize((CROP, CROP), Image.BILINEAR))
        if ink is not None:
            ink = np.asarray(Image.fromarray(ink.astype(np.uint8) * 255).resize((CROP, CROP), Image.BILINEAR)) > 127
    turns, mirror, colour = rng.randrange(4), rng.random() < 0.5, rng.random()
    pixels = np.rot90(pixels, turns)
    ink = None if ink is None else np.rot90(ink, turns)
    if mirror:
        pixels = pixels[:, ::-1]
        ink = None if ink is None else ink[:, ::-1]
    if colour < 0.2:
        pixels = np.repeat(pixels.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    elif colour < 0.6:
        pixels = pixels[:, :, rng.sample(range(3), 3)]
    return np.ascontiguousarray(pixels), None if ink is None else np.ascontiguousarray(ink)
