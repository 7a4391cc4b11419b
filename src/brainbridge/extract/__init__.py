"""Network activation extraction: stimuli -> model -> per-layer activation store."""
