"""Run the guide's examples, one framework per process: ``python -m examples.guide.run torch|tensorflow``.

The last line printed is a JSON object naming every example that ran and its wall time in seconds.
"""

import argparse
import importlib
import json
import time

# Every example the guide includes must be listed here: tests/test_guide.py runs both groups and checks it.
GROUPS: dict[str, tuple[str, ...]] = {
    "torch": (
        "environment_torch",
        "model_torch",
        "evaluation_torch",
        "graph_torch",
        "mixed_precision_torch",
        "memory_torch",
        "deploy_torch",
        "pruning_torch",
        "debugging_torch",
        "text_torch",
    ),
    "tensorflow": (
        "environment_keras",  # first: TensorFlow's thread settings must be made before it runs any op
        "model_keras",
        "evaluation_keras",
        "graph_keras",
        "mixed_precision_keras",
        "memory_keras",
        "deploy_keras",
        "pruning_keras",
        "debugging_keras",
        "text_keras",
    ),
}


def run_group(group: str, only: list[str] | None = None) -> dict[str, float]:
    """Import each example of ``group`` and call its ``main()``; return the seconds each took."""
    timings = {}
    for name in only or GROUPS[group]:
        if name not in GROUPS[group]:
            raise SystemExit(f"{name} is not an example of the {group} group")
        start = time.perf_counter()
        importlib.import_module(f"examples.guide.{name}").main()
        timings[name] = round(time.perf_counter() - start, 2)
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("group", choices=sorted(GROUPS))
    parser.add_argument("examples", nargs="*", help="run only these examples of the group")
    args = parser.parse_args(argv)
    timings = run_group(args.group, args.examples)
    print(json.dumps({"group": args.group, "ran": timings}))


if __name__ == "__main__":
    main()
