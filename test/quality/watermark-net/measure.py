# SPDX-License-Identifier: AGPL-3.0-or-later
"""How well the watermark network tells marked views from clean ones, on pictures it never saw.

    python3 measure.py <network.pt> <set> <training.json>

<set> is a `loupe datasets watermarks` folder; its views of the pictures training.json lists are
left out. Each view is squeezed to 672 x 672 and scored by its most confident cell; the AUC of
the marked views' scores against the clean views' is printed, overall and by how much the mark
changes the pixels under its ink (the mean grey difference to the clean twin, in levels of 255).
"""
import csv
import json
import os
import sys

import numpy as np
import torch

from watermark_net import SIDE, WatermarkNet, load_views


def auc(positives, negatives):
    p, n = np.asarray(positives)[:, None], np.asarray(negatives)[None, :]
    return ((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size)


def main():
    weights, folder, training = sys.argv[1:4]
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    net = WatermarkNet()
    net.load_state_dict(torch.load(weights))
    net.eval()
    seen = set(json.load(open(training))['pictures'])
    with open(os.path.join(folder, 'labels.csv'), newline='') as f:
        rows = [r for r in csv.DictReader(f)]
    groups = {r['group'] for r in rows} - seen
    files = [r['file'] for r in rows if r['group'] in groups]
    views = dict(zip(files, load_views(folder, groups)))
    clean, marked = [], []
    for file, (pixels, mask, _) in views.items():
        with torch.no_grad():
            score = net(torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float().div(255)).max().item()
        if mask is None:
            clean.append(score)
            continue
        twin = views[file.replace('.marked.', '.clean.')][0]
        change = np.abs(pixels.astype(float).mean(2) - twin.astype(float).mean(2))[mask].mean() if mask.any() else 0.0
        marked.append((score, change))
    print(f'{len(groups)} pictures ({len(seen)} left out as seen in training), {len(marked)} marked and {len(clean)} clean views ({SIDE} px)')
    print(f'AUC of the top cell: {auc([m[0] for m in marked], clean):.3f}')
    for lo, hi in [(0, 8), (8, 16), (16, 32), (32, 256)]:
        band = [m[0] for m in marked if lo <= m[1] < hi]
        if band:
            print(f'  marks changing their ink by {lo}-{hi} levels: {len(band)} views, AUC {auc(band, clean):.3f}')


if __name__ == '__main__':
    main()
