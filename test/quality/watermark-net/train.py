# SPDX-License-Identifier: AGPL-3.0-or-later
"""Trains the watermark network on a `loupe datasets watermarks` set and writes it as ONNX.

    python3 train.py <set> <out.onnx> [--stage1 1500] [--stage2 2000 (0: stage 1 only)] [--stage1-weights <out>.stage1.pt]

Stage 1 learns where ink lies, cell by cell (binary cross-entropy, ink cells weighted 4). Stage 2
goes on from it with what the head will read, the most confident cell: on top of the cell loss
(ink weighted 2), each crop's most confident cell without ink is pushed down and, in a crop with
ink, its most confident inked cell up; its crops are rescaled, turned, mirrored and recoloured
(watermark_net.crops). Each step is 64 crops (stage 1: 40 from marked views, 24 from clean ones;
stage 2: 32 and 32), with brightness and contrast varied by up to 15 % and 5 %.
About 0.85 s a step on two CPU threads. Next to the ONNX file it writes training.json: the
pictures the network saw, which a fair measure of the head must leave out.
"""
import argparse
import json
import os
import random
import time

import torch
import torch.nn.functional as F

from watermark_net import SIDE, Features, WatermarkNet, crops, load_views


def jitter(x):
    gain = 1 + (torch.rand(len(x), 1, 1, 1) - 0.5) * 0.3
    offset = (torch.rand(len(x), 1, 1, 1) - 0.5) * 0.1
    return (x * gain + offset).clamp(0, 1)


def most_confident(logit, where):
    return torch.where(where, logit, torch.full_like(logit, -1e4)).flatten(1).max(1).values


def step_loss(logit, target, ink_weight, top_cells):
    valid = target >= 0
    weight = torch.where(target > 0, ink_weight, 1.0)
    loss = (F.binary_cross_entropy_with_logits(logit, target.clamp(min=0), reduction='none') * weight)[valid].mean()
    if not top_cells:
        return loss
    has_clean = (target == 0).flatten(1).any(1)
    has_ink = (target == 1).flatten(1).any(1)
    clean_top = most_confident(logit, target == 0)[has_clean]
    loss = loss + F.binary_cross_entropy_with_logits(clean_top, torch.zeros_like(clean_top))
    if has_ink.any():
        ink_top = most_confident(logit, target == 1)[has_ink]
        loss = loss + F.binary_cross_entropy_with_logits(ink_top, torch.ones_like(ink_top))
    return loss


def stage(net, marked, clean, *, steps, seed, split, lr, peak, warmup, ink_weight, top_cells, augment, name):
    rng = random.Random(seed)
    optimiser = torch.optim.AdamW(net.parameters(), lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, peak, total_steps=steps, pct_start=warmup)
    started, running = time.time(), 0.0
    for step in range(steps):
        xm, ym = crops(marked, split[0], rng, augment)
        xc, yc = crops(clean, split[1], rng, augment)
        logit = net(jitter(torch.cat([xm, xc])))[:, 0]
        loss = step_loss(logit, torch.cat([ym, yc]), ink_weight, top_cells)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if step % 100 == 0 or step == steps - 1:
            print(f'{name} step {step}/{steps} loss {running:.4f} {time.time() - started:.0f} s', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('set')
    parser.add_argument('out')
    parser.add_argument('--stage1', type=int, default=1500)
    parser.add_argument('--stage2', type=int, default=2000)
    parser.add_argument('--stage1-weights', help="stage 1's network (the .stage1.pt a run writes), to go on from it instead of training it again")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    views = load_views(args.set)
    marked = [v for v in views if v[1] is not None]
    clean = [v for v in views if v[1] is None]
    print(f'{len(views)} views of {len({v[2] for v in views})} pictures', flush=True)

    torch.manual_seed(7)
    net = WatermarkNet()
    if args.stage1_weights:
        net.load_state_dict(torch.load(args.stage1_weights))
    else:
        stage(net, marked, clean, steps=args.stage1, seed=7, split=(40, 24), lr=2e-3, peak=3e-3, warmup=0.1, ink_weight=4.0, top_cells=False, augment=False, name='stage 1')
        torch.save(net.state_dict(), f'{args.out}.stage1.pt')
    torch.manual_seed(11)
    if args.stage2 > 0:
        stage(net, marked, clean, steps=args.stage2, seed=11, split=(32, 32), lr=1e-3, peak=1.5e-3, warmup=0.05, ink_weight=2.0,
              top_cells=True, augment=True, name='stage 2')
    torch.save(net.state_dict(), f'{args.out}.pt')

    net.eval()
    torch.onnx.export(Features(net), torch.zeros(1, 3, SIDE, SIDE), args.out, input_names=['image'], output_names=['features'],
                      dynamic_axes={'image': {0: 'batch'}, 'features': {0: 'batch'}}, opset_version=13, do_constant_folding=True)
    pictures = sorted({v[2] for v in views})
    with open(os.path.join(os.path.dirname(os.path.abspath(args.out)), 'training.json'), 'w') as f:
        json.dump({'set': os.path.basename(os.path.normpath(args.set)), 'views': len(views), 'pictures': pictures,
                   'steps': [args.stage1, args.stage2]}, f, indent=2)
        f.write('\n')
    print(f'wrote {args.out}', flush=True)


if __name__ == '__main__':
    main()
