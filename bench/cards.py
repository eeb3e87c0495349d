#!/usr/bin/env python
"""What rendering a model card costs (issue 21): ``render_card`` on cards of 1 KB, 10 KB and 100 KB.

    .venv/bin/python bench/cards.py                 # about 30 s
    .venv/bin/python bench/cards.py --rounds 5      # quick

The card is a realistic model card (headings, prose with links and emphasis, a metrics table, fenced code,
lists, a ``<details>`` block, images of the registry) repeated to the size. For each size it times, in
process and after a warm-up, the Markdown step (markdown-it-py), the sanitising step (nh3) and the whole
``render_card``, and ``card_excerpt`` (what a list row costs). It prints the median and p95 in
milliseconds, and the load average before and after. No database is touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-cards-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings")

import django

django.setup()

from items_app import cards  # noqa: E402

SECTION = """## Evaluation {n}

The model was fine-tuned on **ImageNet-1k** for 90 epochs with *SGD* (momentum 0.9), see
[the paper](https://arxiv.org/abs/1512.03385) and the [training script](/models/abc/versions/3/download).
Accuracy is measured on the validation split; `top-5` is reported for comparison.

| split | top-1 | top-5 | images |
|:--|--:|--:|--:|
| val | 0.761 | 0.929 | 50,000 |
| test | 0.754 | 0.925 | 100,000 |

```python
from registry_client import Registry
model = Registry().download("resnet50-imagenet@production")
```

- Input: 224x224 RGB, normalised with the ImageNet mean and std.
- Output: 1,000 logits; apply a softmax for probabilities.
- Limitations: trained on photographs; drawings and X-rays are out of distribution.

<details><summary>Hyperparameters</summary>

learning rate 0.1, batch 256, weight decay 1e-4, label smoothing 0.1

</details>

![confusion matrix](/static/favicon.svg)

"""


def card_of(size: int) -> str:
    text = ""
    n = 0
    while len(text) < size:
        n += 1
        text += SECTION.format(n=n)
    return text[:size]


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    for _ in range(3):
        call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered):.1f} / {p95:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print("| card | Markdown (ms, p50 / p95) | sanitise | render_card | card_excerpt |")
    print("|--:|--:|--:|--:|--:|")
    for size in (1_000, 10_000, 100_000):
        text = card_of(size)
        rendered = cards._MARKDOWN.render(text)
        markdown = timed(lambda text=text: cards._MARKDOWN.render(text), options.rounds)
        sanitise = timed(lambda rendered=rendered: cards._CLEANER.clean(rendered), options.rounds)
        whole = timed(lambda text=text: cards.render_card(text), options.rounds)
        excerpt = timed(lambda text=text: cards.card_excerpt(text), options.rounds)
        print(f"| {size:,} chars | {summary(markdown)} | {summary(sanitise)} | {summary(whole)} | {summary(excerpt)} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
