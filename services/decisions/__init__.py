"""Review and certification decisions, and appeals against them."""
