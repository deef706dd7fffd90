"""A preload that never finishes importing (for the start-up timeout test)."""

import time

time.sleep(3600)
