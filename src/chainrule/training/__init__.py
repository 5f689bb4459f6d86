"""Training a model: fit() and its History, plots of the curves, model files written atomically."""
