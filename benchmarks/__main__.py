"""`python -m benchmarks [--quick] [NAME ...]`: run every benchmark module (or the named ones)
and print a summary; each writes its own results under benchmarks/results/."""

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hardtofill.telemetry import switch_off_telemetry


def benchmark_modules() -> list[str]:
    here = Path(__file__).resolve().parent
    # Every module of the package but the shared helpers is a benchmark exposing main(quick).
    return sorted(m.name for m in pkgutil.iter_modules([str(here)])
                  if m.name not in ("common", "__main__") and not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    switch_off_telemetry()
    console = Console()
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    available = benchmark_modules()
    unknown = [w for w in wanted if w not in available]
    if unknown:
        console.print(f"[red]unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    table = Table(title=f"hardtofill benchmarks{' (quick)' if quick else ''}")
    table.add_column("benchmark")
    table.add_column("seconds", justify="right")
    table.add_column("result")
    failed = False
    for name in wanted or available:
        console.print(f"[bold]running {name}…")
        start = time.perf_counter()
        try:
            result = importlib.import_module(f"benchmarks.{name}").main(quick=quick)
            summary = json.dumps(result, ensure_ascii=False, default=str)
        except Exception as error:  # one benchmark failing must not hide the others' results
            failed = True
            summary = f"[red]failed: {type(error).__name__}: {error}"
        table.add_row(name, f"{time.perf_counter() - start:.0f}", summary[:300])
    console.print(table)
    console.print("results: benchmarks/results/*.json, summary: benchmarks/RESULTS.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
