"""layerwatch-upload: a printer PC's uploader. Standard library and requests only, no Django."""
