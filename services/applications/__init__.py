"""Applications: submission, review, withdrawal, and the consultancy declaration."""
