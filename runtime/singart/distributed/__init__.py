"""A plan's processes working as one job over gRPC: coordination, params and bridges between processes."""
