#!/usr/bin/env python3
"""Renders async-profiler's collapsed stacks as a flame graph in plain SVG (no script).

    python3 benchmarks/flamegraph.py IN.collapsed OUT.svg "title" [--min-percent 0.2]

async-profiler 4 writes HTML flame graphs, which GitHub does not display; its `collapsed` output
(one line per stack: frames separated by ';', then a sample count) is turned into an SVG here so
that the profiles can sit in docs/ next to the figures they explain. Frames narrower than
--min-percent of all samples are left out (their samples still count in their parents). Colours:
Java frames green, JIT/VM (C++) yellow, kernel ([k]) orange, native red. Each frame has a <title>
with its name, samples and share, which a browser shows on hover.
"""
import sys
from xml.sax.saxutils import escape

WIDTH, ROW, FONT = 1200, 16, 11


class Node:
    __slots__ = ("name", "count", "children")

    def __init__(self, name):
        self.name, self.count, self.children = name, 0, {}


def read(path):
    root = Node("all")
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                sys.exit(f"{path}:{n}: '{line[:80]}' (expected: frames separated by ';', a space,"
                         " then a sample count)")
            c = int(count)
            node = root
            node.count += c
            for frame in stack.split(";"):
                node = node.children.setdefault(frame, Node(frame))
                node.count += c
    return root


def color(name):
    if name.endswith("_[k]"):
        return "#f0a050"
    if "::" in name or name.startswith(("Phase", "Compile", "C2", "G1", "PSPromotion")):
        return "#e0d050"
    if "/" in name or "." in name and not name.endswith(".so"):
        return "#70c070"
    return "#e07060"


def depth(node):
    return 1 + max((depth(c) for c in node.children.values()), default=0)


def render(root, title, min_share):
    rows = depth(root)
    height = (rows + 3) * ROW
    out = [f'<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" '
           f'height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" '
           f'font-size="{FONT}">',
           f'<title>{escape(title)}</title>',
           f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
           f'<text x="{WIDTH / 2}" y="{ROW}" text-anchor="middle" font-size="13">'
           f'{escape(title)} ({root.count} samples)</text>']
    total = root.count
    scale = (WIDTH - 20) / total if total else 0

    def draw(node, x, level):
        if total == 0 or node.count / total < min_share:
            return
        w = node.count * scale
        y = height - (level + 2) * ROW
        share = 100.0 * node.count / total
        label = f"{node.name} ({node.count} samples, {share:.2f}%)"
        out.append(f'<g><title>{escape(label)}</title><rect x="{x:.1f}" y="{y}" '
                   f'width="{max(w - 0.5, 0.5):.1f}" height="{ROW - 1}" '
                   f'fill="{color(node.name)}"/>')
        chars = int(w / (FONT * 0.6)) - 1
        if chars >= 3:
            text = node.name if len(node.name) <= chars else node.name[:chars - 2] + ".."
            out.append(f'<text x="{x + 2:.1f}" y="{y + ROW - 4}">{escape(text)}</text>')
        out.append("</g>")
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, cx, level + 1)
            cx += child.count * scale

    draw(root, 10, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    min_percent = 0.2
    if "--min-percent" in argv:
        i = argv.index("--min-percent")
        try:
            min_percent = float(argv[i + 1])
            args.remove(argv[i + 1])
        except (IndexError, ValueError):
            sys.exit("--min-percent: expected a number such as 0.2")
    if len(args) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    src, dst, title = args
    svg = render(read(src), title, min_percent / 100.0)
    with open(dst, "w") as f:
        f.write(svg)


if __name__ == "__main__":
    main(sys.argv[1:])
