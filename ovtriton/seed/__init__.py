"""The seed: the OVMS image-classification ensemble with real models, photos, client and trace."""
