"""The harness: data, nets, training, evaluation, fine-tuning, baselines, prediction, properties."""
