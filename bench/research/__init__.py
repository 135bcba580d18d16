"""Research code the benchmarks measure and production never calls: candidates that were tried
and not kept, and the ideal observer that says how visible a synthetic defect is."""
