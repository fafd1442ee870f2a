"""Write a generated history as JSON lines (gzip when the path ends in .gz), byte-reproducible."""

import gzip
from contextlib import contextmanager
from pathlib import Path

import orjson
from rich.progress import Progress

from features.generator.simulate import GeneratorConfig, generate_history, month_volumes


@contextmanager
def _open_for_writing(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "wb") as raw:
        if path.suffix == ".gz":
            # mtime=0 and no file name in the header: same seed, same bytes.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as stream:
                yield stream
        else:
            yield raw
    temporary.replace(path)  # a killed run never leaves a half-written history in place


def write_history(config: GeneratorConfig, path: Path, progress: bool = True) -> int:
    """Generate and write the history; returns the number of offers written."""
    written = 0
    with _open_for_writing(Path(path)) as stream, Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"Generating {config.offers:,} offers", total=sum(month_volumes(config)))
        for month in generate_history(config):
            stream.write(b"".join(orjson.dumps(record) + b"\n" for record in month))
            written += len(month)
            bar.advance(task, len(month))
    return written
