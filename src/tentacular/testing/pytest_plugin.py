"""pytest plugin: collects workflow fixture cases as pytest items (filled in with issue 4)."""
