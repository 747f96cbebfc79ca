"""A plan run as several processes: the coordinator, params and bridges over gRPC."""
