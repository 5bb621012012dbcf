"""Model monitoring: production rows and labels in, model-quality samples out."""
