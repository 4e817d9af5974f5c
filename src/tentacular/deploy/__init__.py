"""Pure builders for images and Kubernetes manifests, and a thin Kubernetes client layer."""
