import os
import sys

# The bench modules import each other as plain modules (common, bench_hashing, ...).
sys.path.insert(0, os.path.dirname(__file__))
