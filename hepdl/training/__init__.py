"""Stage train: the training loop of any registered model, and export of trained models."""
