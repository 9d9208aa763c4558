"""What a model file records about how its model trained (torch-free, so that ``hepdl evaluate``
reads it without importing torch).

``hepdl train`` writes these keys into the model file's metadata; ``hepdl score`` copies them
into the scores files (attribute ``training``), ``hepdl export`` into the ONNX file, and
``hepdl evaluate`` into every metrics row.
"""

from __future__ import annotations

#: what a scores file (attribute ``training``), an ONNX file and a metrics row carry about how the
#: model trained
TRAINING_KEYS = ("val_loss_over_average_image", "learned", "best_epoch", "epochs_trained", "max_epochs",
                 "stop_reason", "input_scale")
