"""Parts on the powder bed: checking part-label images, estimating parts from photos, and
attributing heatmap regions to the parts they touch. numpy and scipy only."""
