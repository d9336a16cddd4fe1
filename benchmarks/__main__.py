"""Run the benchmarks: ``python -m benchmarks [NAME ...] [-- options]``.

Each benchmark is a module ``benchmarks/bench_NAME.py`` with a ``main(argv)``
function that prints its figures. With no NAME, all of them run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main(argv: list[str]) -> int:
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    )
    chosen = [a for a in argv if not a.startswith("-")] or names
    options = [a for a in argv if a.startswith("-")]
    for name in chosen:
        if name not in names:
            print(f"unknown benchmark {name!r}; known: {', '.join(names)}", file=sys.stderr)
            return 2
        print(f"=== benchmark: {name} ===", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").main(options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
