"""What this process has used, for progress reports, run metrics and benchmarks."""

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own memory high-water mark, in MiB: VmHWM from /proc. Not ru_maxrss where
    /proc has it: Linux carries ru_maxrss across fork and exec, so a process started by a large
    one (a benchmark that had just generated 5M offers, a Dask nanny) reported its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
