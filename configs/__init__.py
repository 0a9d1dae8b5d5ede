"""Training configs (YAML), one per paper setting and ablation row; shipped with the package."""
