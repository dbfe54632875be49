"""The mark registry: scheme catalogue, certificates, numbering, quick codes and their state machine."""
