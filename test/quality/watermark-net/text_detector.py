"""Issue 20's fifth try, scored: does the PP-OCRv4 text detector's map (text-map.ts) see the marks?

    python3 test/quality/watermark-net/text_detector.py <maps.json> <set>

Prints how much of each mark's ink the detector finds (cells over 0.3 under the ink mask), the
AUC of single statistics of the map, and a logistic regression over 22 of them (the whole map and
a 3 x 3 grid) scored in 5 folds grouped by picture, as `loupe train` groups them.
"""
import json
import sys

import numpy as np
from PIL import Image

DOCUMENTS = ('book', 'newspaper', 'incunable', 'form', 'manuscript', 'handwriting', 'text-line', 'page-printed', 'map')


def auc(pos, neg):
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return (pos > neg).mean() + 0.5 * (pos == neg).mean()


def features(cells):
    h, w = cells.shape
    out = [cells.max(), (cells > 0.3).mean(), (cells > 0.6).mean(), np.sort(cells.ravel())[-20:].mean()]
    for gy in range(3):
        for gx in range(3):
            part = cells[gy * h // 3:(gy + 1) * h // 3, gx * w // 3:(gx + 1) * w // 3]
            out += [part.max(), (part > 0.3).mean()]
    return out


def grouped_logistic(x, y, groups, folds=5, steps=3000):
    x = np.hstack([(x - x.mean(0)) / (x.std(0) + 1e-9), np.ones((len(x), 1))])
    names = sorted(set(groups))
    np.random.default_rng(1).shuffle(names)
    score = np.zeros(len(y))
    for k in range(folds):
        test = np.isin(groups, names[k::folds])
        w = np.zeros(x.shape[1])
        for _ in range(steps):
            p = 1 / (1 + np.exp(-x[~test] @ w))
            w -= 0.1 * (x[~test].T @ (p - y[~test]) / (~test).sum() + 1e-3 * w)
        score[test] = x[test] @ w
    return score


def main(maps_file, set_dir):
    maps = json.load(open(maps_file))
    x, y, groups, found = [], [], [], []
    for name, m in sorted(maps.items()):
        cells = np.array(m['max']).reshape(m['h'], m['w']) / 1000
        x.append(features(cells))
        y.append('.marked.' in name)
        groups.append(name.split('.v')[0])
        if y[-1]:
            ink = Image.open(f"{set_dir}/{name.replace('.jpg', '.mask.png')}").convert('L').resize((m['w'], m['h']), Image.BILINEAR)
            ink = np.array(ink) / 255 > 0.1
            if ink.sum():
                found.append(((cells[ink] > 0.3).mean(), groups[-1].startswith(DOCUMENTS)))
    x, y, groups = np.array(x), np.array(y), np.array(groups)
    print(f'{len(y)} views, {y.sum()} marked, {len(set(groups))} pictures')
    print(f'ink cells the detector marks as text (p > 0.3): {np.mean([f for f, _ in found]):.3f} on average')
    for kind, is_doc in (('documents', True), ('other pictures', False)):
        views = [f for f, d in found if d == is_doc]
        print(f'  {kind}: a fifth of the ink or more found in {sum(f >= 0.2 for f in views)} of {len(views)} marked views')
    for i, name in enumerate(('top cell', 'share over 0.3', 'share over 0.6', 'mean of the top 20 cells')):
        print(f'AUC of the {name}: {auc(x[y, i], x[~y, i]):.3f}')
    score = grouped_logistic(x, y, groups)
    print(f'logistic regression over {x.shape[1]} statistics, 5 folds grouped by picture: AUC {auc(score[y], score[~y]):.3f}, accuracy {((score > 0) == y).mean():.3f}')


if __name__ == '__main__':
    main(*sys.argv[1:3])
