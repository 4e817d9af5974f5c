"""The Kubernetes layer: a thin lightkube client plus apply, wait, trigger, checks and audit on top."""
