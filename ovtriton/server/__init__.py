"""The embedded tritonserver (from the nvidia-pytriton wheel) and its process lifecycle."""
