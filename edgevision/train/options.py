"""What `edgevision train` accepts, for both tasks: the allowed values and the checks they share.

Light on purpose (no numpy, no TensorFlow): the command line builds its `choices=` from these
constants, and both tasks' `validate` call `check_schedule` before anything heavy is imported.
"""

from __future__ import annotations

from edgevision.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")
AUGMENTATION = ("full", "flip", "none")  # detection's training augmentation levels (see train.detect)


def check_schedule(config):
    """Epochs, batch size, learning rate, strategy and pruning: one line naming the fix for each mistake."""
    if config.epochs < 0 or config.fine_tune_epochs < 0 or config.epochs + config.fine_tune_epochs < 1:
        raise UserError("--epochs and --fine-tune-epochs must be >= 0 and not both 0")
    fine_tune_rate = config.fine_tune_learning_rate
    if config.batch_size < 1 or config.learning_rate <= 0 or (fine_tune_rate is not None and fine_tune_rate <= 0):
        raise UserError("--batch-size, --learning-rate and --fine-tune-learning-rate must be positive")
    if config.strategy not in STRATEGIES:
        raise UserError(f"unknown strategy {config.strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if not 0 <= config.prune < 1:
        raise UserError(f"--prune {config.prune} is outside [0, 1): give the fraction of weights to zero, e.g. 0.5")
    if config.prune > 0 and config.fine_tune_epochs < 1:
        raise UserError("--prune happens during fine-tuning: give --fine-tune-epochs 1 or more")
