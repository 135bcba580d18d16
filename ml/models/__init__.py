"""Keras model builders. Each returns an uncompiled model; scorers choose loss and optimiser."""
