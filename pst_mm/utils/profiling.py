# Copyright (c) pst-mm contributors. All rights reserved.
"""Peak memory of one call, as the benchmark tools measure it."""
import os
import subprocess
from typing import Callable, List

import torch

# glibc keeps freed blocks in the process once its dynamic mmap threshold has
# grown, which hides later peaks from the RSS high-water mark. A fixed
# threshold returns freed tensors to the OS, so RSS tracks live memory.
MEMORY_ENV = {
    'MALLOC_MMAP_THRESHOLD_': '131072',
    'MALLOC_TRIM_THRESHOLD_': '131072'
}


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def peak_memory_mb(fn: Callable[[], object], device: str = 'cpu') -> float:
    """Extra peak memory of one ``fn()`` call over what was allocated before.

    ``fn`` runs once first, so one-off initialisation is not counted. CUDA:
    the caching allocator's peak. CPU: the RSS high-water mark, reset through
    ``/proc/self/clear_refs``; call this in a process started with
    :data:`MEMORY_ENV` (see :func:`peak_memory_in_subprocess`).
    """
    fn()
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    base = _status_kb('VmRSS')
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    fn()
    return (_status_kb('VmHWM') - base) / 1024


def peak_memory_in_subprocess(cmd: List[str]) -> float:
    """Run ``cmd`` (which prints ``PEAK_MB <value>``) with :data:`MEMORY_ENV`
    and return the value."""
    proc = subprocess.run(
        cmd, env=dict(os.environ, **MEMORY_ENV), capture_output=True,
        text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith('PEAK_MB ')]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f'memory run {" ".join(cmd)} failed:\n'
                           f'{proc.stderr[-3000:]}')
    return float(lines[-1].split()[1])


__all__ = ['MEMORY_ENV', 'peak_memory_mb', 'peak_memory_in_subprocess']
