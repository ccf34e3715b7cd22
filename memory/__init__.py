"""The customer context graph and the one gate that reads it."""
