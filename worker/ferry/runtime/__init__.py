"""Ferry's worker runtime: task loops, converters and transforms wiring, offsets, errors."""
