"""``python -m hackwatch.sandbox [JOBS]``: print the sandbox overhead benchmark as JSON."""

import json
import sys

from hackwatch.sandbox._bench import bench_overhead

if __name__ == "__main__":
    print(json.dumps(bench_overhead(int(sys.argv[1]) if len(sys.argv) > 1 else 300), indent=2))
