"""``python -m hackwatch.sandbox [JOBS] [off]``: print the sandbox overhead benchmark as JSON.

A second argument ``off`` runs it without per-job cgroups (to measure what they cost).
"""

import json
import sys

from hackwatch.sandbox._bench import bench_overhead

if __name__ == "__main__":
    print(json.dumps(bench_overhead(int(sys.argv[1]) if len(sys.argv) > 1 else 300,
                                    cgroup=sys.argv[2] if len(sys.argv) > 2 else "auto"), indent=2))
