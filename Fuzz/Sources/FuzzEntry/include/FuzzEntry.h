// Nothing to import: this target only supplies the fuzzers' entry points (see FuzzEntry.c).
