"""Layout memory: a layer's heatmap less what the same part layout's previous layers showed there.

scoring holds the channel (layout_memory_step, layout_memory_chain, layout_memory_scores); see
README.md for how it scores, its knobs and its benchmarks.
"""
