"""Ingestion of raw recordings into brain stores (M/EEG with MNE, fMRI with nilearn)."""
